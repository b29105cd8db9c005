/* Key files as text: see ticket_keys.h. */
#include "ticket_keys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define KEY_HEX_DIGITS (2 * TICKET_PUBLIC_KEY_BYTES)

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* One line "<id> <hex>" into id and key; a reason on error. */
static const char *parse_line(const char *p, const char *end, uint32_t *id, uint8_t key[TICKET_PUBLIC_KEY_BYTES]) {
    uint64_t v = 0;
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p++ - '0');
        if (v > UINT32_MAX) return "key id must be an integer in 0..4294967295";
    }
    if (p == start || p == end || !is_blank(*p)) return "expected \"<key id> <64 hex digits>\"";
    while (p < end && is_blank(*p)) p++;
    for (int i = 0; i < KEY_HEX_DIGITS; i += 2) {
        int hi = p + i + 1 < end ? hex_value(p[i]) : -1, lo = hi >= 0 ? hex_value(p[i + 1]) : -1;
        if (lo < 0) return "the key must be 64 hex digits (32 bytes)";
        key[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    p += KEY_HEX_DIGITS;
    while (p < end && is_blank(*p)) p++;
    if (p != end) return "unexpected text after the key";
    *id = (uint32_t)v;
    return NULL;
}

typedef int (*key_fn)(void *ctx, uint32_t id, const uint8_t key[TICKET_PUBLIC_KEY_BYTES], const char **why);

static int each_key(const char *name, const char *text, size_t len, key_fn fn, void *ctx, char *err, size_t err_len) {
    const char *p = text, *end = text + len;
    for (unsigned line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        const char *q = p;
        while (q < eol && is_blank(*q)) q++;
        if (q < eol && *q != '#') {
            uint32_t id;
            uint8_t key[TICKET_PUBLIC_KEY_BYTES];
            const char *why = parse_line(q, eol, &id, key);
            if (!why) fn(ctx, id, key, &why);
            memset(key, 0, sizeof key);
            if (why) {
                snprintf(err, err_len, "%s:%u: %s", name, line, why);
                return -EINVAL;
            }
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static int add_public(void *ctx, uint32_t id, const uint8_t key[TICKET_PUBLIC_KEY_BYTES], const char **why) {
    ticket_keyring_t *k = ctx;
    for (uint32_t i = 0; i < k->count; i++)
        if (k->keys[i].id == id) return *why = "duplicate key id", -1;
    if (k->count == TICKET_KEYS_MAX) return *why = "too many keys (at most 16)", -1;
    k->keys[k->count].id = id;
    memcpy(k->keys[k->count].pk, key, TICKET_PUBLIC_KEY_BYTES);
    k->count++;
    return 0;
}

int ticket_keys_parse_public(const char *name, const char *text, size_t len, ticket_keyring_t *out, char *err,
                             size_t err_len) {
    memset(out, 0, sizeof *out);
    return each_key(name, text, len, add_public, out, err, err_len);
}

typedef struct secret_scan {
    ticket_secret_t *newest;
    int found;
} secret_scan_t;

static int take_secret(void *ctx, uint32_t id, const uint8_t key[TICKET_PUBLIC_KEY_BYTES], const char **why) {
    (void)why;
    secret_scan_t *s = ctx;
    s->newest->id = id;
    memcpy(s->newest->seed, key, TICKET_SEED_BYTES);
    s->found = 1;
    return 0;
}

int ticket_keys_parse_secret(const char *name, const char *text, size_t len, ticket_secret_t *newest, char *err,
                             size_t err_len) {
    secret_scan_t s = { newest, 0 };
    int rc = each_key(name, text, len, take_secret, &s, err, err_len);
    if (rc < 0) return rc;
    if (!s.found) {
        snprintf(err, err_len, "%s: no keys", name);
        return -ENOENT;
    }
    return 0;
}

/* gskel-ticket: makes ticket keys and signed login tickets (docs/security.md), for tests and as the
 * reference a studio's login backend is checked against. Three uses:
 *   gskel-ticket --new-key ID --key SECRET_FILE --public PUBLIC_FILE
 *   gskel-ticket --key SECRET_FILE --account N --name X --ttl S [--nonce HEX32] [--now S] [--format hex|raw]
 *   gskel-ticket --verify TICKET_HEX --public PUBLIC_FILE [--now S]
 * Exit 0 on success, 1 for a ticket that does not verify, 2 for bad usage or unreadable files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ticket.h"
#include "ticket_keys.h"

#define KEY_FILE_MAX (64 * 1024)

typedef struct opts {
    const char *new_key, *key, *public_file, *account, *name, *ttl, *nonce, *now, *format, *verify;
} opts_t;

static int usage(const char *why) {
    fprintf(stderr, "gskel-ticket: %s\n", why);
    return 2;
}

static int read_text(const char *path, char *buf, size_t cap, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return -errno;
    *len = fread(buf, 1, cap, f);
    int bad = ferror(f) || *len == cap;
    fclose(f);
    return bad ? -EIO : 0;
}

/* A key file's text into the static buffer text; its length, or -1 after saying why (exit 2). */
static char key_text[KEY_FILE_MAX];
static long read_key_file(const char *path) {
    size_t len;
    int rc = read_text(path, key_text, sizeof key_text, &len);
    if (rc < 0) {
        fprintf(stderr, "gskel-ticket: %s: cannot read: %s\n", path, strerror(-rc));
        return -1;
    }
    return (long)len;
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-') return -1;
    *out = v;
    return 0;
}

static int hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len) {
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > cap) return -1;
    return sodium_hex2bin(out, cap, hex, n, NULL, len, NULL);
}

static uint64_t now_of(const opts_t *o) {
    uint64_t now;
    return o->now && parse_u64(o->now, &now) == 0 ? now : (uint64_t)time(NULL);
}

/* Appends one "ID HEX" line to path (created with mode). */
static int append_line(const char *path, mode_t mode, uint32_t id, const uint8_t key[32]) {
    char hex[65], line[96];
    sodium_bin2hex(hex, sizeof hex, key, 32);
    int n = snprintf(line, sizeof line, "%u %s\n", id, hex);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode);
    sodium_memzero(hex, sizeof hex);
    if (fd < 0) return -errno;
    int rc = write(fd, line, (size_t)n) == n ? 0 : -EIO;
    sodium_memzero(line, sizeof line);
    close(fd);
    return rc;
}

/* Refuses an id a key file already has (a missing file has none). Secret and public lines share
 * one layout, so one parse finds the ids of either. */
static int id_taken(const char *path, uint32_t id) {
    static char text[KEY_FILE_MAX];
    size_t len;
    char err[256];
    if (read_text(path, text, sizeof text, &len) < 0) return 0;
    ticket_keyring_t ring;
    int rc = ticket_keys_parse_public(path, text, len, &ring, err, sizeof err);
    sodium_memzero(text, len);
    sodium_memzero(&ring, sizeof ring);
    if (rc < 0) return 1;
    for (uint32_t i = 0; i < ring.count; i++)
        if (ring.keys[i].id == id) return 1;
    return 0;
}

static int cmd_new_key(const opts_t *o) {
    uint64_t id;
    if (parse_u64(o->new_key, &id) < 0 || id > UINT32_MAX) return usage("--new-key: must be an integer in 0..4294967295");
    if (!o->key || !o->public_file) return usage("--new-key needs --key SECRET_FILE and --public PUBLIC_FILE");
    if (id_taken(o->key, (uint32_t)id) || id_taken(o->public_file, (uint32_t)id))
        return usage("--new-key: that key id is in a key file already (or a key file does not parse)");
    uint8_t seed[TICKET_SEED_BYTES], pk[TICKET_PUBLIC_KEY_BYTES];
    randombytes_buf(seed, sizeof seed);
    ticket_public_of(seed, pk);
    int rc = append_line(o->key, 0600, (uint32_t)id, seed);
    sodium_memzero(seed, sizeof seed);
    if (rc == 0) rc = append_line(o->public_file, 0644, (uint32_t)id, pk);
    if (rc < 0) {
        fprintf(stderr, "gskel-ticket: cannot write the key files: %s\n", strerror(-rc));
        return 2;
    }
    printf("key %u: secret in %s, public in %s\n", (unsigned)id, o->key, o->public_file);
    return 0;
}

static int cmd_sign(const opts_t *o) {
    uint64_t account, ttl;
    if (!o->account || parse_u64(o->account, &account) < 0 || account == 0)
        return usage("--account: must be an integer in 1..18446744073709551615");
    if (!o->name || !*o->name || strlen(o->name) > TICKET_NAME_MAX) return usage("--name: 1..32 bytes");
    if (!o->ttl || parse_u64(o->ttl, &ttl) < 0) return usage("--ttl: seconds the ticket is valid");
    uint8_t nonce[TICKET_NONCE_BYTES];
    size_t nlen = 0;
    if (o->nonce && (hex_decode(o->nonce, nonce, sizeof nonce, &nlen) < 0 || nlen != sizeof nonce))
        return usage("--nonce: 32 hex digits");
    long len = read_key_file(o->key);
    if (len < 0) return 2;
    ticket_secret_t secret;
    char err[256];
    int rc = ticket_keys_parse_secret(o->key, key_text, (size_t)len, &secret, err, sizeof err);
    sodium_memzero(key_text, (size_t)len);
    if (rc < 0) return usage(err);
    uint8_t t[TICKET_MAX_BYTES];
    int n = ticket_sign(t, sizeof t, secret.id, secret.seed, account, o->name, strlen(o->name), now_of(o) + ttl,
                        o->nonce ? nonce : NULL);
    sodium_memzero(&secret, sizeof secret);
    if (n < 0) return usage("cannot sign that ticket");
    if (o->format && !strcmp(o->format, "raw")) {
        fwrite(t, 1, (size_t)n, stdout);
        return 0;
    }
    char hex[2 * TICKET_MAX_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, t, (size_t)n);
    puts(hex);
    return 0;
}

static int cmd_verify(const opts_t *o) {
    if (!o->public_file) return usage("--verify needs --public PUBLIC_FILE");
    uint8_t t[TICKET_MAX_BYTES + 16];
    size_t n;
    if (hex_decode(o->verify, t, sizeof t, &n) < 0) return usage("--verify: a ticket in hex");
    long len = read_key_file(o->public_file);
    if (len < 0) return 2;
    ticket_keyring_t ring;
    char err[256];
    if (ticket_keys_parse_public(o->public_file, key_text, (size_t)len, &ring, err, sizeof err) < 0) return usage(err);
    ticket_t tk;
    size_t used = 0;
    ticket_verdict_t v = ticket_check(&ring, t, n, now_of(o), &tk, &used);
    printf("%s", ticket_verdict_name(v));
    if (v != TICKET_MALFORMED)
        printf(" key_id=%u account=%llu name=%s expires=%llu", (unsigned)tk.key_id, (unsigned long long)tk.account, tk.name,
               (unsigned long long)tk.expires_s);
    printf("\n");
    return v == TICKET_OK ? 0 : 1;
}

int main(int argc, char **argv) {
    opts_t o = { 0 };
    struct { const char *flag; const char **value; } flags[] = {
        { "--new-key", &o.new_key }, { "--key", &o.key }, { "--public", &o.public_file }, { "--account", &o.account },
        { "--name", &o.name }, { "--ttl", &o.ttl }, { "--nonce", &o.nonce }, { "--now", &o.now },
        { "--format", &o.format }, { "--verify", &o.verify },
    };
    for (int i = 1; i < argc; i++) {
        size_t f = 0;
        while (f < sizeof flags / sizeof flags[0] && strcmp(argv[i], flags[f].flag)) f++;
        if (f == sizeof flags / sizeof flags[0]) return usage("unknown argument (see the header of tools/gskel-ticket.c)");
        if (i + 1 == argc) return usage("a flag needs a value");
        *flags[f].value = argv[++i];
    }
    if (sodium_init() < 0) return usage("libsodium failed to start");
    if (o.format && strcmp(o.format, "hex") && strcmp(o.format, "raw")) return usage("--format: hex or raw");
    if (o.new_key) return cmd_new_key(&o);
    if (o.verify) return cmd_verify(&o);
    if (o.key) return cmd_sign(&o);
    return usage("one of --new-key, --key (sign) or --verify");
}

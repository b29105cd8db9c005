/* config: loads and validates cfg_t (see config.h): the embedded defaults, then the user's JSON
 * over them, each member checked against the key table (config_keys.c) as it is laid on, with
 * errors located in the source text by config_locate.c. */
#include "config.h"

#include "config_keys.h"
#include "config_locate.h"
#include "compiler.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char cfg_default_json[];
extern const size_t cfg_default_json_len;

#define CFG_DEFAULTS_NAME "server.json (built-in)"
#define CFG_DEPTH_MAX 4 /* deepest key path: section.key, with room to grow */
#define CFG_SHOW_KEY_MAX 64 /* unknown keys longer than this are cut in messages */

/* One load: the text being read, where its errors go, and the member path being walked. */
typedef struct cfg_load {
    const char *name;
    const char *text;
    size_t len;
    char *err;
    size_t idx[CFG_DEPTH_MAX];
    bool seen[CFG_NKEYS_MAX];
} cfg_load_t;

static int cfg_fail(char *err, const char *fmt, ...) GSKEL_PRINTF(2, 3);

static int cfg_fail(char *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, CFG_ERR_MAX, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* "NAME:LINE: PATH: WHAT" for the member at x->idx[0..depth). */
static int cfg_fail_at(cfg_load_t *x, size_t depth, const char *path, const char *what)
{
    size_t line = cfg_locate_key_line(x->text, x->len, x->idx, depth);

    return cfg_fail(x->err, "%s:%zu: %s: %s", x->name, line, path, what);
}

/* Reads one JSON value into the key's field; false if the value does not fit the key. */
static bool cfg_set(const cfg_key_t *k, const cJSON *v, cfg_t *c)
{
    char *field = (char *)c + k->off;

    switch (k->type) {
    case CFG_T_UINT: {
        double d = cJSON_IsNumber(v) ? v->valuedouble : -1.0;
        uint32_t u;

        /* written so NaN fails too; the cast is defined once d is known to be in range */
        if (!(d >= k->min && d <= k->max))
            return false;
        u = (uint32_t)d;
        if ((double)u != d)
            return false; /* 1.5, 1e-3: integer keys take integers only */
        memcpy(field, &u, sizeof(u));
        return true;
    }
    case CFG_T_BOOL: {
        bool b = cJSON_IsTrue(v);

        if (!cJSON_IsBool(v))
            return false;
        memcpy(field, &b, sizeof(b));
        return true;
    }
    case CFG_T_STR: {
        size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;

        if (n < k->min || n > k->max)
            return false;
        /* whole field rewritten so equal configs compare equal byte for byte */
        memset(field, 0, k->size);
        memcpy(field, v->valuestring, n);
        return true;
    }
    case CFG_T_ENUM:
        if (!cJSON_IsString(v))
            return false;
        for (int i = 0; k->names[i] != NULL; i++) {
            if (strcmp(k->names[i], v->valuestring) == 0) {
                memcpy(field, &i, sizeof(i));
                return true;
            }
        }
        return false;
    case CFG_T_CIDRS:
        return false; /* cfg_set_cidrs: its items are checked one by one */
    }
    return false;
}

/* A list of address ranges: each item is checked on its own and named by its line and index. */
static int cfg_set_cidrs(cfg_load_t *x, size_t depth, const char *path, const cfg_key_t *k,
                         const cJSON *v, cfg_t *c)
{
    cidr_list_t list;
    char what[160];
    size_t item = 0;

    if (!cJSON_IsArray(v)) {
        cfg_key_expect(k, what, sizeof(what));
        return cfg_fail_at(x, depth, path, what);
    }
    memset(&list, 0, sizeof(list));
    for (const cJSON *it = v->child; it != NULL; it = it->next, item++) {
        size_t line = cfg_locate_item_line(x->text, x->len, x->idx, depth, item);
        cidr_t r, hint;
        int rc = cJSON_IsString(it) ? cidr_parse(it->valuestring, strlen(it->valuestring), &r, &hint)
                                    : -EINVAL;

        if (rc == -EDOM) {
            char near[CIDR_TEXT_MAX];

            cidr_format(&hint, near, sizeof(near));
            return cfg_fail(x->err, "%s:%zu: %s[%zu]: host bits set beyond the prefix (did you mean \"%s\"?)",
                            x->name, line, path, item, near);
        }
        if (rc < 0)
            return cfg_fail(x->err, "%s:%zu: %s[%zu]: must be an address or ADDRESS/PREFIX string",
                            x->name, line, path, item);
        rc = cidr_list_add(&list, &r);
        if (rc == -EEXIST)
            return cfg_fail(x->err, "%s:%zu: %s[%zu]: listed twice", x->name, line, path, item);
        if (rc < 0)
            return cfg_fail(x->err, "%s:%zu: %s[%zu]: more than %u ranges", x->name, line, path, item,
                            (unsigned)CIDR_LIST_MAX);
    }
    memcpy((char *)c + k->off, &list, sizeof(list));
    return 0;
}

/* The string key `s` (from the user, any bytes) made safe for a one-line message. */
static void cfg_show_key(const char *s, char *buf, size_t cap)
{
    size_t n = 0;

    for (; *s != '\0' && n + 1 < cap; s++, n++)
        buf[n] = (unsigned char)*s < ' ' || *s == 0x7f ? '?' : *s;
    buf[n] = '\0';
    if (*s != '\0' && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

static int cfg_unknown(cfg_load_t *x, size_t depth, const char *prefix, const char *key)
{
    char shown[CFG_SHOW_KEY_MAX], path[CFG_PATH_MAX], shown_path[CFG_PATH_MAX + CFG_SHOW_KEY_MAX];
    char what[CFG_PATH_MAX + 32];
    size_t plen = *prefix ? strlen(prefix) + 1 : 0;
    const char *near = NULL;

    if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key) <
        sizeof(path))
        near = cfg_key_suggest(path, plen);
    cfg_show_key(*key ? key : "\"\"", shown, sizeof(shown));
    snprintf(shown_path, sizeof(shown_path), "%.*s%s%s", CFG_PATH_MAX - 1, prefix,
             *prefix ? "." : "", shown);
    if (near != NULL) {
        size_t nlen = strcspn(near + plen, ".") + plen;

        snprintf(what, sizeof(what), "unknown key (did you mean %.*s?)", (int)nlen, near);
    } else {
        snprintf(what, sizeof(what), "unknown key");
    }
    return cfg_fail_at(x, depth, shown_path, what);
}

/* Lays the members of `obj` (at dotted `prefix`, "" for the top) over c, checking each. */
static int cfg_walk(cfg_load_t *x, const cJSON *obj, const char *prefix, size_t depth, cfg_t *c)
{
    size_t i = 0;

    for (const cJSON *it = obj->child; it != NULL; it = it->next, i++) {
        char path[CFG_PATH_MAX], what[256];
        const cfg_key_t *k = NULL;
        bool section = false;
        int rc;

        x->idx[depth] = i;
        /* a dot in a key would let "listen.port" at the top pass for listen: {port} */
        if (strchr(it->string, '.') == NULL &&
            (size_t)snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
                             it->string) < sizeof(path)) {
            k = cfg_key_find(path);
            section = k == NULL && cfg_key_is_section(path);
        }
        if (k == NULL && !section)
            return cfg_unknown(x, depth + 1, prefix, it->string);
        /* cJSON keeps duplicates; every earlier sibling is a known key, so this loop is short */
        for (const cJSON *p = obj->child; p != it; p = p->next)
            if (strcmp(p->string, it->string) == 0)
                return cfg_fail_at(x, depth + 1, path, "duplicate key");
        if (section) {
            if (!cJSON_IsObject(it))
                return cfg_fail_at(x, depth + 1, path, "must be an object");
            if (depth + 1 >= CFG_DEPTH_MAX)
                return cfg_fail_at(x, depth + 1, path, "nested too deep"); /* table defect */
            rc = cfg_walk(x, it, path, depth + 1, c);
            if (rc != 0)
                return rc;
            continue;
        }
        if (k->type == CFG_T_CIDRS) {
            rc = cfg_set_cidrs(x, depth + 1, path, k, it, c);
            if (rc != 0)
                return rc;
            x->seen[k - cfg_keys] = true;
            continue;
        }
        if (!cfg_set(k, it, c)) {
            if (k->type == CFG_T_STR && !cJSON_IsString(it))
                snprintf(what, sizeof(what), "must be a string");
            else
                cfg_key_expect(k, what, sizeof(what));
            return cfg_fail_at(x, depth + 1, path, what);
        }
        x->seen[k - cfg_keys] = true;
    }
    return 0;
}

/* Parses `text` and lays it over *c. With `complete`, every key must be present (the defaults). */
static int cfg_overlay(cfg_t *c, const char *name, const char *text, size_t len, bool complete,
                       char *err)
{
    cfg_load_t x = {.name = name, .len = len, .err = err};
    const char *end = NULL, *nul;
    char *buf;
    cJSON *root;
    int rc;

    /* cJSON wants a terminator inside the length it is given to reject trailing garbage */
    buf = malloc(len + 1);
    if (buf == NULL)
        return cfg_fail(err, "%s: out of memory", name);
    memcpy(buf, text, len);
    buf[len] = '\0';
    x.text = buf;
    nul = memchr(buf, '\0', len);
    root = nul == NULL ? cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1) : NULL;
    if (root == NULL) {
        size_t line, col;

        size_t off = nul != NULL ? (size_t)(nul - buf)
                                 : cfg_locate_syntax_error(buf, len, (size_t)(end - buf));

        cfg_locate_offset(buf, len, off, &line, &col);
        rc = cfg_fail(err, "%s:%zu:%zu: syntax error", name, line, col);
    } else if (!cJSON_IsObject(root)) {
        rc = cfg_fail(err, "%s:%zu: the top level must be an object", name,
                      cfg_locate_key_line(buf, len, x.idx, 0));
    } else {
        rc = cfg_walk(&x, root, "", 0, c);
        for (size_t i = 0; rc == 0 && complete && i < cfg_nkeys; i++)
            if (!x.seen[i])
                rc = cfg_fail(err, "%s: %s: missing", name, cfg_keys[i].path);
    }
    cJSON_Delete(root);
    free(buf);
    return rc;
}

/* Range of every key, for values that did not come through JSON (CLI overrides). */
static int cfg_check_key(const cfg_t *c, const cfg_key_t *k, char *err)
{
    const char *field = (const char *)c + k->off;
    char what[256];
    uint32_t u;
    int e;
    size_t n;

    switch (k->type) {
    case CFG_T_UINT:
        u = cfg_key_uint(c, k);
        if (u >= k->min && u <= k->max)
            return 0;
        break;
    case CFG_T_BOOL:
        return 0;
    case CFG_T_STR:
        n = strnlen(field, k->size);
        if (n >= k->min && n <= k->max)
            return 0;
        break;
    case CFG_T_ENUM:
        e = cfg_key_enum(c, k);
        if (e >= 0 && (uint32_t)e <= k->max)
            return 0;
        break;
    case CFG_T_CIDRS:
        if (((const cidr_list_t *)(const void *)field)->n <= k->max)
            return 0;
        break;
    }
    cfg_key_expect(k, what, sizeof(what));
    return cfg_fail(err, "%s: %s", k->path, what);
}

int cfg_validate(const cfg_t *c, char err[CFG_ERR_MAX])
{
    for (size_t i = 0; i < cfg_nkeys; i++)
        if (cfg_check_key(c, &cfg_keys[i], err) != 0)
            return -EINVAL;
    for (size_t i = 0; i < cfg_nrules; i++) {
        const cfg_key_t *big = cfg_key_find(cfg_rules[i].big);
        const cfg_key_t *small = cfg_key_find(cfg_rules[i].small);
        uint32_t s = cfg_key_uint(c, small);

        if (cfg_key_uint(c, big) < s)
            return cfg_fail(err, "%s: must be >= %s (%u)", big->path, small->path, (unsigned)s);
    }
    /* The kernel's provided-buffer ring takes a power-of-two number of entries. */
    if (c->io.recv_buffers & (c->io.recv_buffers - 1))
        return cfg_fail(err, "io.recv_buffers: must be a power of two");
    if (c->io.command_queue & (c->io.command_queue - 1))
        return cfg_fail(err, "io.command_queue: must be a power of two");
    if (c->game.inbound_queue_bytes & (c->game.inbound_queue_bytes - 1))
        return cfg_fail(err, "game.inbound_queue_bytes: must be a power of two");
    if (c->game.outbound_queue_bytes & (c->game.outbound_queue_bytes - 1))
        return cfg_fail(err, "game.outbound_queue_bytes: must be a power of two");
    /* A PROXY header says who the client is: only a balancer we trust may say it. */
    if (c->listen.proxy_protocol != CFG_PROXY_OFF && c->listen.trusted_proxies.n == 0)
        return cfg_fail(err, "listen.trusted_proxies: required when listen.proxy_protocol is not \"off\"");
    if (c->cluster.redis.queue_entries & (c->cluster.redis.queue_entries - 1))
        return cfg_fail(err, "cluster.redis.queue_entries: must be a power of two");
    /* Instances tell each other apart by name: two with one name would kick each other's players. */
    char host[CFG_HOST_MAX];
    int port;
    if (c->cluster.redis.address[0] && cfg_split_host_port(c->cluster.redis.address, host, &port) < 0)
        return cfg_fail(err, "cluster.redis.address: must be \"host:port\" (port 1-65535) or \"\"");
    if (c->cluster.redis.address[0] && !c->cluster.redis.instance_id[0])
        return cfg_fail(err, "cluster.redis.instance_id: required when cluster.redis.address is set");
    /* It starts the patterns the instances subscribe and scan with: no glob characters. */
    if (strpbrk(c->cluster.redis.key_prefix, "*?[]\\ "))
        return cfg_fail(err, "cluster.redis.key_prefix: no '*', '?', '[', ']', '\\' or spaces");
    /* It goes into Redis values and messages separated by spaces. */
    if (strspn(c->cluster.redis.instance_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
        strlen(c->cluster.redis.instance_id))
        return cfg_fail(err, "cluster.redis.instance_id: letters, digits, '.', '_' and '-' only");
    /* The admin endpoint kicks and bans: anywhere but loopback it must not be open to all. */
    if (c->admin.port && !cfg_host_is_loopback(c->admin.host) && !c->admin.token[0])
        return cfg_fail(err, "admin.token: required when admin.host is not a loopback address");
    return 0;
}

/* Loads into a zeroed scratch struct so *out is untouched on error and padding compares equal. */
static int cfg_load(cfg_t *out, const char *name, const char *text, size_t len, char *err)
{
    cfg_t c;
    char why[CFG_ERR_MAX];
    int rc;

    memset(&c, 0, sizeof(c));
    rc = cfg_overlay(&c, CFG_DEFAULTS_NAME, cfg_default_json, cfg_default_json_len, true, err);
    if (rc == 0 && name != NULL)
        rc = cfg_overlay(&c, name, text, len, false, err);
    if (rc == 0 && cfg_validate(&c, why) != 0)
        rc = cfg_fail(err, "%s: %s", name != NULL ? name : CFG_DEFAULTS_NAME, why);
    if (rc == 0)
        memcpy(out, &c, sizeof(c));
    return rc;
}

int cfg_load_defaults(cfg_t *out, char err[CFG_ERR_MAX])
{
    return cfg_load(out, NULL, NULL, 0, err);
}

int cfg_load_text(cfg_t *out, const char *name, const char *text, size_t len,
                  char err[CFG_ERR_MAX])
{
    return cfg_load(out, name, text, len, err);
}

int cfg_load_file(cfg_t *out, const char *path, char err[CFG_ERR_MAX])
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    int rc;

    if (f == NULL) {
        rc = -errno;
        cfg_fail(err, "%s: cannot read: %s", path, strerror(errno));
        return rc;
    }
    /* one byte over the limit tells "exactly the limit" from "too large" */
    buf = malloc(CFG_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        cfg_fail(err, "%s: out of memory", path);
        return -ENOMEM;
    }
    n = fread(buf, 1, CFG_FILE_MAX + 1, f);
    if (ferror(f)) {
        rc = errno != 0 ? -errno : -EIO;
        cfg_fail(err, "%s: cannot read: %s", path, strerror(-rc));
    } else if (n > CFG_FILE_MAX) {
        rc = -EFBIG;
        cfg_fail(err, "%s: file too large (limit %u bytes)", path, (unsigned)CFG_FILE_MAX);
    } else {
        rc = cfg_load_text(out, path, buf, n, err);
    }
    free(buf);
    fclose(f);
    return rc;
}

bool cfg_host_is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 || strcmp(host, "localhost") == 0;
}

int cfg_split_host_port(const char *s, char host[CFG_HOST_MAX], int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= CFG_HOST_MAX || !isdigit((unsigned char)colon[1])) return -1;
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    *port = (int)p;
    return 0;
}

void cfg_diff(const cfg_t *a, const cfg_t *b, void (*fn)(void *ctx, const char *path, bool live), void *ctx)
{
    for (size_t i = 0; i < cfg_nkeys; i++) {
        const cfg_key_t *k = &cfg_keys[i];
        if (memcmp((const char *)a + k->off, (const char *)b + k->off, k->size) != 0)
            fn(ctx, k->path, k->live);
    }
}

void cfg_apply_live(cfg_t *dst, const cfg_t *src)
{
    for (size_t i = 0; i < cfg_nkeys; i++) {
        const cfg_key_t *k = &cfg_keys[i];
        if (k->live)
            memcpy((char *)dst + k->off, (const char *)src + k->off, k->size);
    }
}

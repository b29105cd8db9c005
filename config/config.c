/* config: loads, validates and prints cfg_t (see config.h).
 * Every key is one row of cfg_keys[]: its dotted path, type, range and place in cfg_t. Loading,
 * validation and printing all walk that table, so adding a key is one row plus one line in
 * config/server.json, which is the only place defaults live. */
#include "config.h"

#include "config_locate.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char cfg_default_json[];
extern const size_t cfg_default_json_len;

#define CFG_DEFAULTS_NAME "server.json (built-in)"
#define CFG_DEPTH_MAX 4 /* deepest key path: section.key, with room to grow */
#define CFG_PATH_MAX 64 /* longest known dotted path, plus NUL */
#define CFG_SHOW_KEY_MAX 64 /* unknown keys longer than this are cut in messages */

typedef enum { CFG_T_UINT, CFG_T_BOOL, CFG_T_STR, CFG_T_ENUM } cfg_type_t;

typedef struct cfg_key {
    const char *path;
    cfg_type_t type;
    uint32_t min, max;         /* CFG_T_UINT; CFG_T_STR: length in bytes; CFG_T_ENUM: 0..n-1 */
    size_t off, size;          /* the field in cfg_t */
    const char *const *names;  /* CFG_T_ENUM: the JSON spelling of each value, in enum order */
} cfg_key_t;

_Static_assert(sizeof(cfg_backend_t) == sizeof(int) && sizeof(cfg_log_level_t) == sizeof(int) &&
                   sizeof(cfg_log_format_t) == sizeof(int),
               "enum fields are stored as int");

static const char *const cfg_backend_names[] = {"auto", "io_uring", "epoll", "iocp", NULL};
static const char *const cfg_level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const cfg_format_names[] = {"logfmt", "json", NULL};

#define CFG_FIELD(f) offsetof(cfg_t, f), sizeof(((cfg_t *)0)->f)
#define CFG_UINT(p, f, lo, hi) {p, CFG_T_UINT, lo, hi, CFG_FIELD(f), NULL}
#define CFG_BOOL(p, f) {p, CFG_T_BOOL, 0, 1, CFG_FIELD(f), NULL}
#define CFG_STR(p, f) {p, CFG_T_STR, 1, sizeof(((cfg_t *)0)->f) - 1, CFG_FIELD(f), NULL}
#define CFG_ENUM(p, f, names) \
    {p, CFG_T_ENUM, 0, sizeof(names) / sizeof(names[0]) - 2, CFG_FIELD(f), names}

/* In config/server.json order, which is also the order cfg_to_json prints. */
static const cfg_key_t cfg_keys[] = {
    CFG_STR("listen.host", listen.host),
    CFG_UINT("listen.port", listen.port, 0, 65535),
    CFG_UINT("listen.backlog", listen.backlog, 1, 65535),
    CFG_ENUM("backend", backend, cfg_backend_names),
    CFG_UINT("workers", workers, 0, 256),
    CFG_UINT("socket.sndbuf", socket.sndbuf, 0, 1u << 30),
    CFG_UINT("socket.rcvbuf", socket.rcvbuf, 0, 1u << 30),
    CFG_BOOL("socket.nodelay", socket.nodelay),
    CFG_UINT("io.recv_buffer_bytes", io.recv_buffer_bytes, 512, 1u << 20),
    CFG_UINT("io.max_events", io.max_events, 1, 65536),
    CFG_UINT("session.max_sessions", session.max_sessions, 1, 16777215),
    CFG_UINT("session.max_frame_bytes", session.max_frame_bytes, 4, 65535),
    CFG_UINT("session.send_chunk_bytes", session.send_chunk_bytes, 256, 1u << 20),
    CFG_UINT("session.send_queue_limit_bytes", session.send_queue_limit_bytes, 256, 1u << 30),
    CFG_UINT("session.login_timeout_ms", session.login_timeout_ms, 0, 86400000),
    CFG_UINT("session.idle_timeout_ms", session.idle_timeout_ms, 0, 86400000),
    CFG_UINT("session.close_grace_ms", session.close_grace_ms, 1, 600000),
    CFG_UINT("guard.max_packets_per_sec", guard.max_packets_per_sec, 0, 10000000),
    CFG_UINT("guard.max_bytes_per_sec", guard.max_bytes_per_sec, 0, 1u << 30),
    CFG_UINT("guard.max_conns_per_ip", guard.max_conns_per_ip, 0, 1000000),
    CFG_STR("admin.host", admin.host),
    CFG_UINT("admin.port", admin.port, 0, 65535),
    CFG_ENUM("log.level", log.level, cfg_level_names),
    CFG_ENUM("log.format", log.format, cfg_format_names),
    CFG_UINT("game.tick_hz", game.tick_hz, 1, 1000),
};
#define CFG_NKEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

/* Cross-key rules: the value at `big` must be >= the value at `small`. */
static const struct {
    const char *big, *small;
} cfg_rules[] = {
    {"session.send_chunk_bytes", "session.max_frame_bytes"},
    {"session.send_queue_limit_bytes", "session.send_chunk_bytes"},
};

/* One load: the text being read, where its errors go, and the member path being walked. */
typedef struct cfg_load {
    const char *name;
    const char *text;
    size_t len;
    char *err;
    size_t idx[CFG_DEPTH_MAX];
    bool seen[CFG_NKEYS];
} cfg_load_t;

static int cfg_fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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

static const cfg_key_t *cfg_key_find(const char *path)
{
    for (size_t i = 0; i < CFG_NKEYS; i++)
        if (strcmp(cfg_keys[i].path, path) == 0)
            return &cfg_keys[i];
    return NULL;
}

static bool cfg_is_section(const char *path)
{
    size_t n = strlen(path);

    for (size_t i = 0; i < CFG_NKEYS; i++)
        if (strncmp(cfg_keys[i].path, path, n) == 0 && cfg_keys[i].path[n] == '.')
            return true;
    return false;
}

/* What a key accepts, as the tail of an error message. */
static void cfg_expect(const cfg_key_t *k, char *buf, size_t cap)
{
    size_t n;

    switch (k->type) {
    case CFG_T_UINT:
        snprintf(buf, cap, "must be an integer in %u..%u", (unsigned)k->min, (unsigned)k->max);
        break;
    case CFG_T_BOOL:
        snprintf(buf, cap, "must be true or false");
        break;
    case CFG_T_STR:
        snprintf(buf, cap, "must be a non-empty string of at most %u bytes", (unsigned)k->max);
        break;
    case CFG_T_ENUM:
        n = (size_t)snprintf(buf, cap, "must be one of");
        for (size_t i = 0; k->names[i] != NULL && n < cap; i++)
            n += (size_t)snprintf(buf + n, cap - n, "%s \"%s\"", i ? "," : "", k->names[i]);
        break;
    }
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
    }
    return false;
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

/* Classic edit distance, bounded to short keys so a huge bogus key costs nothing. */
static size_t cfg_distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t row[CFG_PATH_MAX + 1];

    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* The known path closest to `path` among its siblings, if close enough to be a typo. */
static const char *cfg_suggest(const char *path, size_t prefix_len)
{
    const char *best = NULL;
    size_t n = strlen(path), best_d = 3; /* more than two edits is not a typo */

    if (n >= CFG_PATH_MAX)
        return NULL;
    for (size_t i = 0; i < CFG_NKEYS; i++) {
        const char *p = cfg_keys[i].path;
        size_t pn, d;

        if (strncmp(p, path, prefix_len) != 0)
            continue;
        pn = strcspn(p + prefix_len, ".") + prefix_len;
        if (pn >= CFG_PATH_MAX)
            continue;
        d = cfg_distance(path + prefix_len, n - prefix_len, p + prefix_len, pn - prefix_len);
        if (d < best_d && 2 * d <= n - prefix_len) {
            best_d = d;
            best = p;
        }
    }
    return best;
}

static int cfg_unknown(cfg_load_t *x, size_t depth, const char *prefix, const char *key)
{
    char shown[CFG_SHOW_KEY_MAX], path[CFG_PATH_MAX], shown_path[CFG_PATH_MAX + CFG_SHOW_KEY_MAX];
    char what[CFG_PATH_MAX + 32];
    size_t plen = *prefix ? strlen(prefix) + 1 : 0;
    const char *near = NULL;

    if ((size_t)snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key) <
        sizeof(path))
        near = cfg_suggest(path, plen);
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
            section = k == NULL && cfg_is_section(path);
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
        if (!cfg_set(k, it, c)) {
            if (k->type == CFG_T_STR && !cJSON_IsString(it))
                snprintf(what, sizeof(what), "must be a string");
            else
                cfg_expect(k, what, sizeof(what));
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
        for (size_t i = 0; rc == 0 && complete && i < CFG_NKEYS; i++)
            if (!x.seen[i])
                rc = cfg_fail(err, "%s: %s: missing", name, cfg_keys[i].path);
    }
    cJSON_Delete(root);
    free(buf);
    return rc;
}

static uint32_t cfg_get_uint(const cfg_t *c, const cfg_key_t *k)
{
    uint32_t u;

    memcpy(&u, (const char *)c + k->off, sizeof(u));
    return u;
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
        u = cfg_get_uint(c, k);
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
        memcpy(&e, field, sizeof(e));
        if (e >= 0 && (uint32_t)e <= k->max)
            return 0;
        break;
    }
    cfg_expect(k, what, sizeof(what));
    return cfg_fail(err, "%s: %s", k->path, what);
}

int cfg_validate(const cfg_t *c, char err[CFG_ERR_MAX])
{
    for (size_t i = 0; i < CFG_NKEYS; i++)
        if (cfg_check_key(c, &cfg_keys[i], err) != 0)
            return -EINVAL;
    for (size_t i = 0; i < sizeof(cfg_rules) / sizeof(cfg_rules[0]); i++) {
        const cfg_key_t *big = cfg_key_find(cfg_rules[i].big);
        const cfg_key_t *small = cfg_key_find(cfg_rules[i].small);
        uint32_t s = cfg_get_uint(c, small);

        if (cfg_get_uint(c, big) < s)
            return cfg_fail(err, "%s: must be >= %s (%u)", big->path, small->path, (unsigned)s);
    }
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

/* The object for the dotted prefix of `path` (everything before the last dot), created as
 * needed, and in *leaf the last component. */
static cJSON *cfg_json_parent(cJSON *root, const char *path, const char **leaf)
{
    cJSON *obj = root;
    const char *dot;

    while ((dot = strchr(path, '.')) != NULL) {
        char comp[CFG_PATH_MAX];
        cJSON *next;

        snprintf(comp, sizeof(comp), "%.*s", (int)(dot - path), path);
        next = cJSON_GetObjectItemCaseSensitive(obj, comp);
        if (next == NULL)
            next = cJSON_AddObjectToObject(obj, comp);
        if (next == NULL)
            return NULL;
        obj = next;
        path = dot + 1;
    }
    *leaf = path;
    return obj;
}

static bool cfg_json_add(cJSON *root, const cfg_t *c, const cfg_key_t *k)
{
    const char *field = (const char *)c + k->off, *leaf;
    cJSON *obj = cfg_json_parent(root, k->path, &leaf);
    char str[CFG_HOST_MAX + 1];
    bool b;
    int e;

    if (obj == NULL)
        return false;
    switch (k->type) {
    case CFG_T_UINT:
        return cJSON_AddNumberToObject(obj, leaf, (double)cfg_get_uint(c, k)) != NULL;
    case CFG_T_BOOL:
        memcpy(&b, field, sizeof(b));
        return cJSON_AddBoolToObject(obj, leaf, b) != NULL;
    case CFG_T_STR:
        snprintf(str, sizeof(str), "%.*s", (int)strnlen(field, k->size), field);
        return cJSON_AddStringToObject(obj, leaf, str) != NULL;
    case CFG_T_ENUM:
        memcpy(&e, field, sizeof(e));
        if (e < 0 || (uint32_t)e > k->max)
            return false;
        return cJSON_AddStringToObject(obj, leaf, k->names[e]) != NULL;
    }
    return false;
}

char *cfg_to_json(const cfg_t *c)
{
    cJSON *root = cJSON_CreateObject();
    char *text = NULL, *out = NULL;
    size_t n;

    for (size_t i = 0; root != NULL && i < CFG_NKEYS; i++) {
        if (!cfg_json_add(root, c, &cfg_keys[i])) {
            cJSON_Delete(root);
            return NULL;
        }
    }
    if (root != NULL)
        text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL)
        return NULL;
    /* a trailing newline so callers can write it out as a file */
    n = strlen(text);
    out = realloc(text, n + 2);
    if (out == NULL) {
        free(text);
        return NULL;
    }
    memcpy(out + n, "\n", 2);
    return out;
}

const char *cfg_backend_name(cfg_backend_t b)
{
    if ((unsigned)b >= sizeof(cfg_backend_names) / sizeof(cfg_backend_names[0]) - 1)
        return "unknown";
    return cfg_backend_names[b];
}

int cfg_backend_parse(const char *s, cfg_backend_t *out)
{
    for (int i = 0; cfg_backend_names[i] != NULL; i++) {
        if (strcmp(cfg_backend_names[i], s) == 0) {
            *out = (cfg_backend_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

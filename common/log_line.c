#include "log_line.h"

#include <string.h>

/* Kept back at the end of the buffer so the closing part always fits. */
#define LOG_TAIL_RESERVE 24u
/* Events are code constants; the bound only keeps a runaway one from eating the line. */
#define LOG_EVENT_MAX 128u

typedef struct lbuf {
    char *p;
    size_t cap, len;
} lbuf_t;

/* All or nothing, so a pair either fits whole or the caller rolls back to before it. */
static bool lb_put(lbuf_t *b, const char *s, size_t n)
{
    if (b->cap - b->len < n)
        return false;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return true;
}

static bool lb_str(lbuf_t *b, const char *s)
{
    return lb_put(b, s, strlen(s));
}

size_t log_escape_char(unsigned char c, char e[7])
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"': memcpy(e, "\\\"", 2); return 2;
    case '\\': memcpy(e, "\\\\", 2); return 2;
    case '\n': memcpy(e, "\\n", 2); return 2;
    case '\r': memcpy(e, "\\r", 2); return 2;
    case '\t': memcpy(e, "\\t", 2); return 2;
    default: break;
    }
    if (c < 0x20 || c == 0x7f) {
        memcpy(e, "\\u00", 4);
        e[4] = hex[c >> 4];
        e[5] = hex[c & 15];
        return 6;
    }
    return 0;
}

static bool lb_escaped_byte(lbuf_t *b, unsigned char c)
{
    char e[7];
    size_t el = log_escape_char(c, e);
    return el ? lb_put(b, e, el) : lb_put(b, (const char *)&c, 1);
}

/* Length of the valid UTF-8 sequence at s[0..n), 0 if invalid (overlong, surrogate, cut). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t want;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) want = 2;
    else if (c >= 0xE0 && c <= 0xEF) want = 3;
    else if (c >= 0xF0 && c <= 0xF4) want = 4;
    else return 0;
    if (c == 0xE0) lo = 0xA0;
    else if (c == 0xED) hi = 0x9F;
    else if (c == 0xF0) lo = 0x90;
    else if (c == 0xF4) hi = 0x8F;
    if (n < want || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < want; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return want;
}

/* One character of a JSON string at s[*i]; invalid UTF-8 becomes U+FFFD so the line stays
 * valid JSON whatever bytes a client sent. */
static bool json_char(lbuf_t *b, const unsigned char *s, size_t n, size_t *i)
{
    if (s[*i] < 0x80)
        return lb_escaped_byte(b, s[(*i)++]);
    size_t ul = utf8_len(s + *i, n - *i);
    if (!ul) {
        (*i)++;
        return lb_str(b, "\\ufffd");
    }
    bool ok = lb_put(b, (const char *)s + *i, ul);
    *i += ul;
    return ok;
}

static bool json_string(lbuf_t *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!lb_put(b, "\"", 1))
        return false;
    for (size_t i = 0; i < n;)
        if (!json_char(b, u, n, &i))
            return false;
    return lb_put(b, "\"", 1);
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The JSON number grammar, whole string: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_is_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n || !is_digit(s[i]))
        return false;
    if (s[i] == '0')
        i++;
    else
        while (i < n && is_digit(s[i]))
            i++;
    if (i < n && s[i] == '.') {
        if (++i >= n || !is_digit(s[i]))
            return false;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return false;
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i == n;
}

/* A logfmt quoted value's inside, as a JSON string. The escapes log_quote writes are JSON's
 * own and pass through; a stray backslash is escaped rather than trusted. */
static bool json_from_quoted(lbuf_t *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!lb_put(b, "\"", 1))
        return false;
    for (size_t i = 0; i < n;) {
        if (s[i] == '\\' && i + 1 < n && strchr("\"\\/bfnrt", s[i + 1])) {
            if (!lb_put(b, s + i, 2))
                return false;
            i += 2;
        } else if (s[i] == '\\' && i + 5 < n && s[i + 1] == 'u' && is_hex(s[i + 2]) &&
                   is_hex(s[i + 3]) && is_hex(s[i + 4]) && is_hex(s[i + 5])) {
            if (!lb_put(b, s + i, 6))
                return false;
            i += 6;
        } else if (!json_char(b, u, n, &i)) {
            return false;
        }
    }
    return lb_put(b, "\"", 1);
}

typedef struct kv_pair {
    const char *key, *val;
    size_t key_len, val_len; /* val without its quotes */
    bool has_val, quoted;
    bool at_end; /* the pair ran into the end of the string */
} kv_pair_t;

static bool is_sep(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool kv_next(const char **sp, kv_pair_t *kv)
{
    const char *s = *sp;
    while (is_sep(*s))
        s++;
    if (!*s)
        return false;
    *kv = (kv_pair_t){ .key = s };
    while (*s && !is_sep(*s) && *s != '=')
        s++;
    kv->key_len = (size_t)(s - kv->key);
    if (*s == '=') {
        s++;
        kv->has_val = true;
        if (*s == '"') {
            kv->quoted = true;
            kv->val = ++s;
            while (*s && *s != '"')
                s += (s[0] == '\\' && s[1]) ? 2 : 1;
            kv->val_len = (size_t)(s - kv->val);
            if (*s == '"')
                s++;
            else
                kv->at_end = true;
        } else {
            kv->val = s;
            while (*s && !is_sep(*s))
                s++;
            kv->val_len = (size_t)(s - kv->val);
        }
    }
    if (!*s)
        kv->at_end = true;
    *sp = s;
    return true;
}

/* A bare logfmt value may not hold what would break the line or its parsing. */
static bool logfmt_needs_quotes(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '=' || c == ' ')
            return true;
    }
    return false;
}

static bool logfmt_quoted_bytes(lbuf_t *b, const char *s, size_t n)
{
    if (!lb_put(b, "\"", 1))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!lb_escaped_byte(b, (unsigned char)s[i]))
            return false;
    return lb_put(b, "\"", 1);
}

static bool logfmt_value(lbuf_t *b, const char *s, size_t n)
{
    return logfmt_needs_quotes(s, n) ? logfmt_quoted_bytes(b, s, n) : lb_put(b, s, n);
}

static bool logfmt_pair(lbuf_t *b, const kv_pair_t *kv)
{
    if (!lb_put(b, " ", 1))
        return false;
    for (size_t i = 0; i < kv->key_len; i++) {
        unsigned char c = (unsigned char)kv->key[i];
        char k = (c < 0x20 || c == 0x7f || c == '"') ? '_' : (char)c;
        if (!lb_put(b, &k, 1))
            return false;
    }
    if (!kv->has_val)
        return true;
    if (!lb_put(b, "=", 1))
        return false;
    if (!kv->quoted)
        return logfmt_value(b, kv->val, kv->val_len);
    /* Keep the caller's escapes; escape only raw control bytes and a stray final backslash. */
    if (!lb_put(b, "\"", 1))
        return false;
    for (size_t i = 0; i < kv->val_len; i++) {
        const char *c = kv->val + i;
        if (c[0] == '\\' && i + 1 < kv->val_len && (unsigned char)c[1] >= 0x20 && c[1] != 0x7f) {
            if (!lb_put(b, c, 2))
                return false;
            i++;
        } else if (!lb_escaped_byte(b, (unsigned char)c[0])) {
            return false;
        }
    }
    return lb_put(b, "\"", 1);
}

static bool json_pair(lbuf_t *b, const kv_pair_t *kv)
{
    if (!lb_put(b, ",", 1) || !json_string(b, kv->key, kv->key_len) || !lb_put(b, ":", 1))
        return false;
    if (!kv->has_val)
        return lb_str(b, "true"); /* logfmt's bare key is a flag */
    if (kv->quoted)
        return json_from_quoted(b, kv->val, kv->val_len);
    if (json_is_number(kv->val, kv->val_len))
        return lb_put(b, kv->val, kv->val_len);
    return json_string(b, kv->val, kv->val_len);
}

size_t log_line_build(char *out, size_t cap, bool json, const char *ts, const char *level,
                      const char *event, const char *kv, bool kv_cut)
{
    lbuf_t b = { out, cap - LOG_TAIL_RESERVE, 0 };
    if (!event)
        event = "";
    size_t ev_len = strnlen(event, LOG_EVENT_MAX);
    bool truncated = ev_len == LOG_EVENT_MAX && event[ev_len] != '\0';

    if (json) {
        lb_str(&b, "{\"ts\":\"");
        lb_str(&b, ts);
        lb_str(&b, "\",\"level\":\"");
        lb_str(&b, level);
        lb_str(&b, "\",\"event\":");
        json_string(&b, event, ev_len);
    } else {
        lb_str(&b, "ts=");
        lb_str(&b, ts);
        lb_str(&b, " level=");
        lb_str(&b, level);
        lb_str(&b, " event=");
        logfmt_value(&b, event, ev_len);
    }

    kv_pair_t pair;
    const char *p = kv;
    while (kv_next(&p, &pair)) {
        if (kv_cut && pair.at_end) {
            truncated = true;
            break;
        }
        size_t mark = b.len;
        if (!(json ? json_pair(&b, &pair) : logfmt_pair(&b, &pair))) {
            b.len = mark;
            truncated = true;
            break;
        }
    }

    b.cap = cap;
    if (json) {
        if (truncated)
            lb_str(&b, ",\"truncated\":true");
        lb_str(&b, "}\n");
    } else {
        if (truncated)
            lb_str(&b, " truncated=true");
        lb_str(&b, "\n");
    }
    return b.len;
}

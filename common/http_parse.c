#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "http_parse.h"

/* What the header lines told us, kept apart from *out until the head is known to be whole. */
typedef struct head_state {
    http_request_t req;
    int minor;            /* HTTP/1.<minor> */
    unsigned hosts;       /* Host lines seen */
    bool have_length;
    bool have_auth;
    bool conn_close;
    bool conn_keep_alive;
} head_state_t;

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* field-vchar / obs-text, SP and HTAB (RFC 9110 5.5); every other control char is refused. */
static bool is_value_char(unsigned char c)
{
    return is_ows(c) || (c >= 0x21 && c != 0x7f);
}

/* Printable ASCII but space and '#': what a target may hold before any decoding. */
static bool is_target_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '#';
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Case-insensitive equality of a counted name with a lower-case literal. */
static bool name_is(const char *s, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n; i++) {
        if (lit[i] == '\0' || lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return false;
    }
    return lit[i] == '\0';
}

/* Finds the CRLF that ends the line starting at pos, looking no further than limit. Refuses a NUL,
 * a bare LF or a bare CR on sight, even in a line not yet complete. */
static int find_eol(const char *buf, size_t pos, size_t limit, size_t *eol)
{
    for (size_t i = pos; i < limit; i++) {
        char c = buf[i];
        if (c == '\0' || c == '\n')
            return -EINVAL;
        if (c == '\r') {
            if (i + 1 == limit)
                return -EAGAIN;
            if (buf[i + 1] != '\n')
                return -EINVAL;
            *eol = i;
            return 0;
        }
    }
    return -EAGAIN;
}

static int parse_request_line(const char *s, size_t n, head_state_t *h)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= sizeof h->req.method || i == n || s[i] != ' ')
        return -EINVAL;
    memcpy(h->req.method, s, i);
    h->req.method[i] = '\0';

    size_t t0 = ++i;
    while (i < n && s[i] != ' ') {
        if (!is_target_char((unsigned char)s[i]))
            return -EINVAL;
        i++;
    }
    size_t t1 = i;
    if (t1 == t0 || i == n)
        return -EINVAL;
    bool star = t1 - t0 == 1 && s[t0] == '*';
    if (star ? strcmp(h->req.method, "OPTIONS") != 0 : s[t0] != '/')
        return -EINVAL;

    const char *v = s + i + 1;
    if (n - (i + 1) != 8 || memcmp(v, "HTTP/1.", 7) != 0 || v[7] < '0' || v[7] > '9')
        return -EINVAL;
    h->minor = v[7] - '0';

    const char *q = memchr(s + t0, '?', t1 - t0);
    h->req.path = s + t0;
    h->req.path_len = (q ? (size_t)(q - s) : t1) - t0;
    h->req.query = q ? q + 1 : s + t1;
    h->req.query_len = q ? t1 - (size_t)(q + 1 - s) : 0;
    return 0;
}

static int parse_content_length(const char *v, size_t n, head_state_t *h)
{
    if (n == 0)
        return -EINVAL;
    size_t value = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -EINVAL;
        size_t d = (size_t)(v[i] - '0');
        if (value > (SIZE_MAX - d) / 10)
            return -EINVAL;
        value = value * 10 + d;
    }
    if (h->have_length && h->req.content_length != value)
        return -EINVAL;
    h->have_length = true;
    h->req.content_length = value;
    return 0;
}

/* Connection is a comma list of options (RFC 9110 7.6.1); only close and keep-alive mean anything
 * here, and empty list elements are allowed. */
static void parse_connection(const char *v, size_t n, head_state_t *h)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (is_ows((unsigned char)v[i]) || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && is_ows((unsigned char)v[end - 1]))
            end--;
        if (name_is(v + start, end - start, "close"))
            h->conn_close = true;
        else if (name_is(v + start, end - start, "keep-alive"))
            h->conn_keep_alive = true;
    }
}

static int parse_header_line(const char *s, size_t n, head_state_t *h)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    /* Also catches obs-fold (a line starting with SP/HTAB) and "name :" (RFC 9112 5.1). */
    if (i == 0 || i == n || s[i] != ':')
        return -EINVAL;
    size_t name_len = i++;

    for (size_t k = i; k < n; k++) {
        if (!is_value_char((unsigned char)s[k]))
            return -EINVAL;
    }
    while (i < n && is_ows((unsigned char)s[i]))
        i++;
    size_t end = n;
    while (end > i && is_ows((unsigned char)s[end - 1]))
        end--;
    const char *v = s + i;
    size_t vn = end - i;

    if (name_is(s, name_len, "content-length"))
        return parse_content_length(v, vn, h);
    if (name_is(s, name_len, "transfer-encoding"))
        return -EINVAL;
    if (name_is(s, name_len, "host")) {
        if (++h->hosts > 1)
            return -EINVAL;
    } else if (name_is(s, name_len, "authorization")) {
        if (h->have_auth)
            return -EINVAL;
        h->have_auth = true;
        h->req.authorization = v;
        h->req.authorization_len = vn;
    } else if (name_is(s, name_len, "connection")) {
        parse_connection(v, vn, h);
    }
    return 0;
}

static int finish_head(head_state_t *h, size_t head_bytes, http_request_t *out)
{
    if (h->minor >= 1 && h->hosts != 1)
        return -EINVAL;
    if (h->conn_close)
        h->req.keep_alive = 0;
    else
        h->req.keep_alive = h->minor >= 1 || h->conn_keep_alive;
    h->req.head_bytes = head_bytes;
    *out = h->req;
    return 0;
}

int http_parse_request(const char *buf, size_t len, size_t max_head, http_request_t *out)
{
    head_state_t h;
    memset(&h, 0, sizeof h);
    size_t limit = len < max_head ? len : max_head;
    size_t pos = 0;
    for (bool first = true;; first = false) {
        size_t eol = 0;
        int rc = find_eol(buf, pos, limit, &eol);
        if (rc == -EAGAIN)
            return len >= max_head ? -E2BIG : -EAGAIN;
        if (rc < 0)
            return rc;
        if (first)
            rc = parse_request_line(buf + pos, eol - pos, &h);
        else if (eol == pos)
            return finish_head(&h, eol + 2, out);
        else
            rc = parse_header_line(buf + pos, eol - pos, &h);
        if (rc < 0)
            return rc;
        pos = eol + 2;
    }
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)lower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes one byte of s[0..n) at *i and advances *i; the escapes were checked beforehand. */
static char decode_at(const char *s, size_t *i)
{
    char c = s[*i];
    if (c == '%') {
        c = (char)(hex_value(s[*i + 1]) * 16 + hex_value(s[*i + 2]));
        *i += 3;
        return c;
    }
    *i += 1;
    return c == '+' ? ' ' : c;
}

static int check_escapes(const char *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '\0')
            return -EINVAL;
        if (q[i] != '%')
            continue;
        if (n - i < 3)
            return -EINVAL;
        int hi = hex_value(q[i + 1]), lo = hex_value(q[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -EINVAL;
        i += 2;
    }
    return 0;
}

/* Whether the encoded key s[0..n) decodes to exactly `key`. */
static bool key_matches(const char *s, size_t n, const char *key)
{
    size_t i = 0, k = 0;
    while (i < n) {
        if (key[k] == '\0' || decode_at(s, &i) != key[k])
            return false;
        k++;
    }
    return key[k] == '\0';
}

int http_query_get(const char *query, size_t query_len, const char *key, char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (!key || (query_len > 0 && !query))
        return -EINVAL;
    int rc = check_escapes(query, query_len);
    if (rc < 0)
        return rc;
    size_t pos = 0;
    while (pos < query_len) {
        const char *pair = query + pos;
        const char *amp = memchr(pair, '&', query_len - pos);
        size_t pair_len = amp ? (size_t)(amp - pair) : query_len - pos;
        pos += pair_len + 1;
        const char *eq = memchr(pair, '=', pair_len);
        size_t key_len = eq ? (size_t)(eq - pair) : pair_len;
        if (key_len == 0 || !key_matches(pair, key_len, key))
            continue;
        const char *v = eq ? eq + 1 : pair + pair_len;
        size_t vn = pair_len - (size_t)(v - pair);
        size_t o = 0;
        for (size_t i = 0; i < vn; o++) {
            char c = decode_at(v, &i);
            if (o + 1 >= cap) {
                if (cap > 0)
                    out[0] = '\0';
                return -ENOSPC;
            }
            out[o] = c;
        }
        if (o + 1 > cap)
            return -ENOSPC;
        out[o] = '\0';
        return 0;
    }
    return -ENOENT;
}

/* http_parse: a strict HTTP/1.1 request-head parser for the admin endpoint (RFC 9112 subset).
 * Owns only the bytes: no I/O, no allocation, no copies; every pointer it returns points into the
 * caller's buffer. It must not guess: anything ambiguous (bare LF, obs-fold, Transfer-Encoding,
 * conflicting Content-Length, a second Host or Authorization) is -EINVAL, never a best effort,
 * so no proxy in front of it can read a request differently than it does. */
#ifndef GSKEL_HTTP_PARSE_H
#define GSKEL_HTTP_PARSE_H

#include <stddef.h>

#define HTTP_MAX_HEAD 8192

typedef struct http_request {
    char method[8];             /* "GET", "POST", ... NUL-terminated */
    const char *path;   size_t path_len;   /* before '?', into the caller's buffer, not decoded */
    const char *query;  size_t query_len;  /* after '?', may be empty */
    const char *authorization; size_t authorization_len; /* the Authorization header's value, trimmed, or NULL */
    size_t content_length;      /* 0 if absent */
    size_t head_bytes;          /* bytes of the head including the final CRLF CRLF */
    int keep_alive;             /* HTTP/1.1 default yes, "Connection: close" no; HTTP/1.0 default no */
} http_request_t;

/* 0: a complete head is in buf[0..len); -EAGAIN: need more bytes; -EINVAL: malformed; -E2BIG: the
 * head passes max_head bytes without ending. *out is written only when 0 is returned.
 * Accepted: `METHOD SP target SP HTTP/1.d CRLF`, then `name: value CRLF` lines, then CRLF.
 *  - Lines end in CRLF only: a bare LF or a bare CR is -EINVAL (smuggling relies on parsers that
 *    disagree on line ends; refusing is the one reading nobody can disagree with).
 *  - METHOD is a token of 1..7 chars; the target is origin-form ("/" ...), or "*" with OPTIONS;
 *    it holds no control char, space, '#' or byte >= 0x80. HTTP/1.0 and 1.1 (1.2..1.9 read as 1.1).
 *  - No empty line before the request line, no whitespace before a header's colon, no obs-fold.
 *  - Header values are trimmed of SP/HTAB; a NUL or other control char in one is -EINVAL.
 *  - HTTP/1.1 needs exactly one Host; HTTP/1.0 at most one.
 *  - Content-Length: decimal digits only, fits size_t; repeats must carry the same value.
 *  - Transfer-Encoding (chunked or not) is not supported: -EINVAL.
 *  - Connection: "close" wins over "keep-alive"; 1.0 keeps alive only with "keep-alive".
 * A malformed line is reported as soon as it is complete (or holds a NUL / bare LF), so garbage is
 * refused before it fills max_head; a request that is valid gives -EAGAIN for every prefix. */
int http_parse_request(const char *buf, size_t len, size_t max_head, http_request_t *out);

/* The URL-decoded value of `key` in a query string (a=1&b=x%20y); 0, -ENOENT, -EINVAL (bad %-escape),
 * -ENOSPC (does not fit cap incl. NUL).
 * Keys are compared after decoding; the first match wins; "k" alone has the empty value; '+' is a
 * space (as in HTML forms). A bad escape anywhere in the query, or one that decodes to NUL, is
 * -EINVAL whether or not it is in the pair asked for. out is "" on any error when cap > 0. */
int http_query_get(const char *query, size_t query_len, const char *key, char *out, size_t cap);

#endif

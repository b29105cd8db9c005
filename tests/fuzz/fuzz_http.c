/* libFuzzer target for http_parse: the input is an HTTP request head (and maybe more). Checks:
 *  - the return code is one of the four documented, and -EAGAIN / -E2BIG agree with len vs max_head;
 *  - a parsed head: every pointer lies inside the head, head_bytes <= len and ends in CRLF CRLF,
 *    the path is origin-form or "*", the method is a NUL-terminated token;
 *  - streaming: every shorter prefix of a parsed head gives -EAGAIN, and the head alone parses to
 *    the same result; a smaller max_head gives 0 or -E2BIG exactly as head_bytes says;
 *  - http_query_get on the parsed query and on the raw input, with a few keys and capacities.
 * Prefixes are parsed from exact-size heap copies so ASan sees a read past len. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int parse_copy(const uint8_t *data, size_t n, size_t max_head, http_request_t *r)
{
    char *copy = malloc(n ? n : 1);
    CHECK(copy);
    memcpy(copy, data, n);
    int rc = http_parse_request(copy, n, max_head, r);
    if (rc == 0) {
        r->path = (const char *)data + (r->path - copy);
        r->query = (const char *)data + (r->query - copy);
        if (r->authorization)
            r->authorization = (const char *)data + (r->authorization - copy);
    }
    free(copy);
    return rc;
}

static bool span_in(const char *p, size_t n, const char *base, size_t len)
{
    return p >= base && p <= base + len && n <= (size_t)(base + len - p);
}

static void check_query(const char *q, size_t n)
{
    static const char *const keys[] = { "a", "name", "x y", "", "%" };
    char out[16];
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        static const size_t caps[] = { 0, 1, sizeof out };
        for (size_t c = 0; c < sizeof caps / sizeof *caps; c++) {
            memset(out, 'Z', sizeof out);
            int rc = http_query_get(q, n, keys[k], out, caps[c]);
            CHECK(rc == 0 || rc == -ENOENT || rc == -EINVAL || rc == -ENOSPC);
            if (rc == 0)
                CHECK(strlen(out) < caps[c]);
            else if (caps[c] > 0)
                CHECK(out[0] == '\0');
            if (caps[c] < sizeof out)
                CHECK(out[caps[c]] == 'Z'); /* nothing written past cap */
        }
    }
}

static void check_parsed(const uint8_t *data, size_t size, const http_request_t *r)
{
    const char *base = (const char *)data;
    size_t h = r->head_bytes;
    CHECK(h >= 16 && h <= size && h <= HTTP_MAX_HEAD); /* "A / HTTP/1.0\r\n\r\n" is the least */
    CHECK(memcmp(base + h - 4, "\r\n\r\n", 4) == 0);
    const char *nul = memchr(r->method, '\0', sizeof r->method);
    CHECK(nul && nul > r->method);
    CHECK(span_in(r->path, r->path_len, base, h));
    CHECK(span_in(r->query, r->query_len, base, h));
    CHECK(r->path_len >= 1);
    CHECK(r->path[0] == '/' || (r->path_len == 1 && r->path[0] == '*'));
    CHECK(memchr(r->path, '?', r->path_len) == NULL);
    if (r->authorization)
        CHECK(span_in(r->authorization, r->authorization_len, base, h));
    else
        CHECK(r->authorization_len == 0);
    CHECK(r->keep_alive == 0 || r->keep_alive == 1);
    check_query(r->query, r->query_len);
}

static bool same_request(const http_request_t *a, const http_request_t *b)
{
    return strcmp(a->method, b->method) == 0 && a->path == b->path && a->path_len == b->path_len &&
           a->query == b->query && a->query_len == b->query_len && a->authorization == b->authorization &&
           a->authorization_len == b->authorization_len && a->content_length == b->content_length &&
           a->head_bytes == b->head_bytes && a->keep_alive == b->keep_alive;
}

static void check_prefixes(const uint8_t *data, const http_request_t *full)
{
    size_t h = full->head_bytes;
    size_t step = h <= 512 ? 1 : h / 256;
    http_request_t r;
    for (size_t p = 0; p < h; p += step)
        CHECK(parse_copy(data, p, HTTP_MAX_HEAD, &r) == -EAGAIN);
    CHECK(parse_copy(data, h - 1, HTTP_MAX_HEAD, &r) == -EAGAIN);
    CHECK(parse_copy(data, h, HTTP_MAX_HEAD, &r) == 0);
    CHECK(same_request(&r, full));
    CHECK(parse_copy(data, h, h, &r) == 0);
    CHECK(parse_copy(data, h, h - 1, &r) == -E2BIG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_request_t r;
    int rc = http_parse_request((const char *)data, size, HTTP_MAX_HEAD, &r);
    CHECK(rc == 0 || rc == -EAGAIN || rc == -EINVAL || rc == -E2BIG);
    if (rc == -EAGAIN)
        CHECK(size < HTTP_MAX_HEAD);
    if (rc == -E2BIG)
        CHECK(size >= HTTP_MAX_HEAD);
    if (rc == 0) {
            check_parsed(data, size, &r);
        http_request_t again;
        CHECK(parse_copy(data, size, HTTP_MAX_HEAD, &again) == 0);
        CHECK(same_request(&again, &r));
        check_prefixes(data, &r);
    }
    /* A smaller limit: the answer must follow from the full parse when that one succeeded. */
    size_t small = size / 2, head = rc == 0 ? r.head_bytes : 0;
    int rc_small = http_parse_request((const char *)data, size, small, &r);
    CHECK(rc_small == 0 || rc_small == -EINVAL || rc_small == -E2BIG); /* size >= small */
    if (rc == 0)
        CHECK(rc_small == (head <= small ? 0 : -E2BIG));
    check_query((const char *)data, size);
    return 0;
}

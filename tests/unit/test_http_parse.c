/* http_parse: complete heads, every split point, each malformed kind, the head size limit,
 * keep-alive rules, Authorization extraction and query decoding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

/* Parses exactly strlen(s) bytes from an exact-size heap copy, so a read past the end is caught
 * by ASan builds. */
static int parse_n(const char *s, size_t n, size_t max_head, http_request_t *r)
{
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    int rc = http_parse_request(copy, n, max_head, r);
    if (rc == 0) {
        /* Rebase the pointers onto s so callers can compare after the copy is gone. */
        r->path = s + (r->path - copy);
        r->query = s + (r->query - copy);
        if (r->authorization)
            r->authorization = s + (r->authorization - copy);
    }
    free(copy);
    return rc;
}

static int parse(const char *s, http_request_t *r)
{
    return parse_n(s, strlen(s), HTTP_MAX_HEAD, r);
}

static int parse_rc(const char *s)
{
    http_request_t r;
    return parse(s, &r);
}

static void assert_span(const char *p, size_t n, const char *want)
{
    assert_int_equal(n, strlen(want));
    assert_memory_equal(p, want, n);
}

static void get_with_query_and_headers_is_parsed(void **state)
{
    (void)state;
    const char *s = "GET /metrics?name=a%20b&x=1 HTTP/1.1\r\n"
                    "Host: 127.0.0.1:7778\r\n"
                    "User-Agent: test\r\n"
                    "\r\n";
    http_request_t r;
    assert_int_equal(parse(s, &r), 0);
    assert_string_equal(r.method, "GET");
    assert_span(r.path, r.path_len, "/metrics");
    assert_span(r.query, r.query_len, "name=a%20b&x=1");
    assert_null(r.authorization);
    assert_int_equal(r.authorization_len, 0);
    assert_int_equal(r.content_length, 0);
    assert_int_equal(r.head_bytes, strlen(s));
    assert_int_equal(r.keep_alive, 1);
}

static void head_bytes_stops_at_the_blank_line_and_ignores_the_body(void **state)
{
    (void)state;
    const char *head = "POST /admin/kick HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
    char s[256];
    snprintf(s, sizeof s, "%shello", head);
    http_request_t r;
    assert_int_equal(parse(s, &r), 0);
    assert_string_equal(r.method, "POST");
    assert_int_equal(r.head_bytes, strlen(head));
    assert_int_equal(r.content_length, 5);
}

static void path_without_query_has_an_empty_query(void **state)
{
    (void)state;
    http_request_t r;
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &r), 0);
    assert_span(r.path, r.path_len, "/");
    assert_int_equal(r.query_len, 0);
    assert_non_null(r.query);
    assert_int_equal(parse("GET /a? HTTP/1.0\r\n\r\n", &r), 0);
    assert_span(r.path, r.path_len, "/a");
    assert_int_equal(r.query_len, 0);
}

static void header_names_are_case_insensitive(void **state)
{
    (void)state;
    http_request_t r;
    assert_int_equal(parse("GET / HTTP/1.1\r\nhOsT: x\r\ncontent-LENGTH: 12\r\nCONNECTION: Close\r\n\r\n", &r), 0);
    assert_int_equal(r.content_length, 12);
    assert_int_equal(r.keep_alive, 0);
}

static void every_split_point_needs_more_until_the_head_is_complete(void **state)
{
    (void)state;
    const char *s = "GET /metrics?a=1 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n"
                    "Content-Length: 3\r\nConnection: keep-alive\r\n\r\n";
    size_t n = strlen(s);
    http_request_t r;
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(parse_n(s, cut, HTTP_MAX_HEAD, &r), -EAGAIN);
    assert_int_equal(parse_n(s, n, HTTP_MAX_HEAD, &r), 0);
    assert_int_equal(r.head_bytes, n);
}

static void out_is_untouched_unless_the_head_is_complete(void **state)
{
    (void)state;
    http_request_t r;
    memset(&r, 0xA5, sizeof r);
    http_request_t before = r;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n", &r), -EAGAIN);
    assert_memory_equal(&r, &before, sizeof r);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost x\r\n\r\n", &r), -EINVAL);
    assert_memory_equal(&r, &before, sizeof r);
}

static void request_line_must_be_method_sp_target_sp_version(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET /  HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1 \r\nHost: x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc(" GET / HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET /\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
}

static void method_must_be_a_short_token(void **state)
{
    (void)state;
    http_request_t r;
    assert_int_equal(parse("OPTIONS / HTTP/1.0\r\n\r\n", &r), 0);
    assert_string_equal(r.method, "OPTIONS");
    assert_int_equal(parse_rc("CONNECTX / HTTP/1.0\r\n\r\n"), -EINVAL); /* 8 chars */
    assert_int_equal(parse_rc("G(T / HTTP/1.0\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("G\x01T / HTTP/1.0\r\n\r\n"), -EINVAL);
}

static void version_must_be_http_1_x(void **state)
{
    (void)state;
    http_request_t r;
    assert_int_equal(parse("GET / HTTP/1.2\r\nHost: x\r\n\r\n", &r), 0);
    assert_int_equal(r.keep_alive, 1);
    assert_int_equal(parse_rc("GET / HTTP/2.0\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.10\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / http/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1\r\n\r\n"), -EINVAL);
}

static void target_must_be_origin_form_or_star_for_options(void **state)
{
    (void)state;
    http_request_t r;
    assert_int_equal(parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    assert_span(r.path, r.path_len, "*");
    assert_int_equal(parse_rc("GET * HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET metrics HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
}

static void control_chars_in_the_target_are_refused(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET /a\x1b[0m HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n"), -EINVAL);
}

static void nul_byte_is_refused_even_before_the_head_ends(void **state)
{
    (void)state;
    http_request_t r;
    static const char s[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    assert_int_equal(parse_n(s, sizeof s - 1, HTTP_MAX_HEAD, &r), -EINVAL);
    static const char early[] = "GE\0";
    assert_int_equal(parse_n(early, sizeof early - 1, HTTP_MAX_HEAD, &r), -EINVAL);
}

static void bare_lf_and_bare_cr_are_refused(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("GET / HTTP/1.0\n\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\r\n\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HT\n"), -EINVAL); /* seen before the head could end */
}

static void obs_fold_is_refused(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n"), -EINVAL);
}

static void header_names_must_be_tokens_followed_by_a_colon(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\r\nX-\xc3\xa9: 1\r\n\r\n"), -EINVAL);
}

static void control_chars_in_header_values_are_refused(void **state)
{
    (void)state;
    http_request_t r;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nX: a\tb \xc3\xa9\r\n\r\n", &r), 0);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\r\nX: a\x01" "b\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\r\nX: a\x7f\r\n\r\n"), -EINVAL);
}

static void content_length_must_be_a_decimal_number(void **state)
{
    (void)state;
    http_request_t r;
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:   0042  \r\n\r\n", &r), 0);
    assert_int_equal(r.content_length, 42);
    assert_int_equal(parse_rc("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n"), -EINVAL);
}

static void content_length_that_overflows_is_refused(void **state)
{
    (void)state;
    char s[256];
    http_request_t r;
    snprintf(s, sizeof s, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", (size_t)SIZE_MAX);
    assert_int_equal(parse(s, &r), 0);
    assert_true(r.content_length == SIZE_MAX);
    /* SIZE_MAX is 18446744073709551615 on 64-bit and 4294967295 on 32-bit: one more overflows. */
    const char *over = sizeof(size_t) == 8 ? "18446744073709551616" : "4294967296";
    snprintf(s, sizeof s, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\n", over);
    assert_int_equal(parse_rc(s), -EINVAL);
    assert_int_equal(parse_rc("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"), -EINVAL);
}

static void duplicate_content_length_must_agree(void **state)
{
    (void)state;
    http_request_t r;
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\ncontent-length: 007\r\n\r\n", &r), 0);
    assert_int_equal(r.content_length, 7);
    assert_int_equal(parse_rc("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n"), -EINVAL);
}

static void transfer_encoding_is_not_supported(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("POST / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: identity\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     -EINVAL);
}

static void http_1_1_needs_exactly_one_host(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), -EINVAL);
    assert_int_equal(parse_rc("GET / HTTP/1.0\r\n\r\n"), 0);
    assert_int_equal(parse_rc("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), -EINVAL);
}

static void authorization_value_is_trimmed(void **state)
{
    (void)state;
    http_request_t r;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nauthorization: \t Bearer abc.def \t\r\n\r\n", &r), 0);
    assert_span(r.authorization, r.authorization_len, "Bearer abc.def");
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nAuthorization:\r\n\r\n", &r), 0);
    assert_non_null(r.authorization);
    assert_int_equal(r.authorization_len, 0);
}

static void second_authorization_header_is_refused(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: a\r\n\r\n"), -EINVAL);
}

static void keep_alive_defaults_by_version(void **state)
{
    (void)state;
    http_request_t r;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
    assert_int_equal(r.keep_alive, 1);
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &r), 0);
    assert_int_equal(r.keep_alive, 0);
}

static void connection_header_overrides_the_default(void **state)
{
    (void)state;
    http_request_t r;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r), 0);
    assert_int_equal(r.keep_alive, 0);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r), 0);
    assert_int_equal(r.keep_alive, 1);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: TE, , close\r\n\r\n", &r), 0);
    assert_int_equal(r.keep_alive, 0);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", &r), 0);
    assert_int_equal(r.keep_alive, 0); /* close wins */
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n", &r), 0);
    assert_int_equal(r.keep_alive, 1); /* an option named "closed" is not close */
}

static void head_that_outgrows_max_head_is_too_big(void **state)
{
    (void)state;
    char s[HTTP_MAX_HEAD + 64];
    size_t n = (size_t)snprintf(s, sizeof s, "GET / HTTP/1.1\r\nHost: x\r\nX: ");
    while (n < HTTP_MAX_HEAD)
        s[n++] = 'a';
    http_request_t r;
    assert_int_equal(parse_n(s, n - 1, HTTP_MAX_HEAD, &r), -EAGAIN);
    assert_int_equal(parse_n(s, n, HTTP_MAX_HEAD, &r), -E2BIG);
    memcpy(s + n, "\r\n\r\n", 4);
    assert_int_equal(parse_n(s, n + 4, HTTP_MAX_HEAD, &r), -E2BIG);
}

static void head_that_ends_exactly_at_max_head_is_accepted(void **state)
{
    (void)state;
    const char *s = "GET / HTTP/1.0\r\n\r\n";
    size_t n = strlen(s);
    http_request_t r;
    assert_int_equal(parse_n(s, n, n, &r), 0);
    assert_int_equal(r.head_bytes, n);
    assert_int_equal(parse_n(s, n, n - 1, &r), -E2BIG);
    assert_int_equal(parse_n(s, n - 1, n - 1, &r), -E2BIG);
    assert_int_equal(parse_n(s, n - 2, n - 1, &r), -EAGAIN);
}

static void query_values_are_url_decoded(void **state)
{
    (void)state;
    const char *q = "a=1&b=x%20y&c=p+q%2Bz&d&e=&%66=key%2dencoded&a=second";
    size_t n = strlen(q);
    char out[32];
    assert_int_equal(http_query_get(q, n, "a", out, sizeof out), 0);
    assert_string_equal(out, "1"); /* the first match wins */
    assert_int_equal(http_query_get(q, n, "b", out, sizeof out), 0);
    assert_string_equal(out, "x y");
    assert_int_equal(http_query_get(q, n, "c", out, sizeof out), 0);
    assert_string_equal(out, "p q+z");
    assert_int_equal(http_query_get(q, n, "d", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(http_query_get(q, n, "e", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(http_query_get(q, n, "f", out, sizeof out), 0);
    assert_string_equal(out, "key-encoded");
}

static void missing_query_key_is_enoent(void **state)
{
    (void)state;
    char out[8] = "junk";
    assert_int_equal(http_query_get("a=1&bb=2", 8, "b", out, sizeof out), -ENOENT);
    assert_string_equal(out, "");
    assert_int_equal(http_query_get("", 0, "a", out, sizeof out), -ENOENT);
    assert_int_equal(http_query_get(NULL, 0, "a", out, sizeof out), -ENOENT);
    assert_int_equal(http_query_get("a=1&b=2", 3, "b", out, sizeof out), -ENOENT); /* counted, not NUL-ended */
}

static void bad_percent_escape_is_einval(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(http_query_get("a=%zz", 5, "a", out, sizeof out), -EINVAL);
    assert_int_equal(http_query_get("a=%2", 4, "a", out, sizeof out), -EINVAL);
    assert_int_equal(http_query_get("a=%", 3, "a", out, sizeof out), -EINVAL);
    assert_int_equal(http_query_get("a=%00", 5, "a", out, sizeof out), -EINVAL);
    assert_int_equal(http_query_get("a=1&b=%g0", 9, "a", out, sizeof out), -EINVAL); /* anywhere */
}

static void value_that_does_not_fit_is_enospc(void **state)
{
    (void)state;
    char out[4];
    assert_int_equal(http_query_get("k=abc", 5, "k", out, 4), 0);
    assert_string_equal(out, "abc");
    assert_int_equal(http_query_get("k=abcd", 6, "k", out, 4), -ENOSPC);
    assert_string_equal(out, "");
    assert_int_equal(http_query_get("k=%41%42%43", 11, "k", out, 4), 0); /* decoded size counts */
    assert_string_equal(out, "ABC");
    assert_int_equal(http_query_get("k=", 2, "k", out, 0), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_with_query_and_headers_is_parsed),
        cmocka_unit_test(head_bytes_stops_at_the_blank_line_and_ignores_the_body),
        cmocka_unit_test(path_without_query_has_an_empty_query),
        cmocka_unit_test(header_names_are_case_insensitive),
        cmocka_unit_test(every_split_point_needs_more_until_the_head_is_complete),
        cmocka_unit_test(out_is_untouched_unless_the_head_is_complete),
        cmocka_unit_test(request_line_must_be_method_sp_target_sp_version),
        cmocka_unit_test(method_must_be_a_short_token),
        cmocka_unit_test(version_must_be_http_1_x),
        cmocka_unit_test(target_must_be_origin_form_or_star_for_options),
        cmocka_unit_test(control_chars_in_the_target_are_refused),
        cmocka_unit_test(nul_byte_is_refused_even_before_the_head_ends),
        cmocka_unit_test(bare_lf_and_bare_cr_are_refused),
        cmocka_unit_test(obs_fold_is_refused),
        cmocka_unit_test(header_names_must_be_tokens_followed_by_a_colon),
        cmocka_unit_test(control_chars_in_header_values_are_refused),
        cmocka_unit_test(content_length_must_be_a_decimal_number),
        cmocka_unit_test(content_length_that_overflows_is_refused),
        cmocka_unit_test(duplicate_content_length_must_agree),
        cmocka_unit_test(transfer_encoding_is_not_supported),
        cmocka_unit_test(http_1_1_needs_exactly_one_host),
        cmocka_unit_test(authorization_value_is_trimmed),
        cmocka_unit_test(second_authorization_header_is_refused),
        cmocka_unit_test(keep_alive_defaults_by_version),
        cmocka_unit_test(connection_header_overrides_the_default),
        cmocka_unit_test(head_that_outgrows_max_head_is_too_big),
        cmocka_unit_test(head_that_ends_exactly_at_max_head_is_accepted),
        cmocka_unit_test(query_values_are_url_decoded),
        cmocka_unit_test(missing_query_key_is_enoent),
        cmocka_unit_test(bad_percent_escape_is_einval),
        cmocka_unit_test(value_that_does_not_fit_is_enospc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

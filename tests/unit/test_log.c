/* log: exact line shapes in logfmt and JSON, level filtering, quoting, truncation, and whole
 * lines under concurrent writers. Output is captured through log_configure(..., tmpfile()). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

enum { TS_LEN = 27, OUT_CAP = 1 << 20 };

static FILE *g_file;
static char *g_out;

static int setup(void **state)
{
    (void)state;
    g_file = tmpfile();
    g_out = malloc(OUT_CAP);
    return g_file && g_out ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    log_configure(LOG_INFO, LOG_FORMAT_LOGFMT, NULL);
    fclose(g_file);
    free(g_out);
    return 0;
}

static void use(log_level_t min, log_format_t fmt)
{
    log_configure(min, fmt, g_file);
}

/* Everything written so far, NUL-terminated. */
static const char *captured(void)
{
    fflush(g_file);
    rewind(g_file);
    size_t n = fread(g_out, 1, OUT_CAP - 1, g_file);
    g_out[n] = '\0';
    return g_out;
}

/* "2026-11-25T06:42:12.123456Z": digits where the template has 9. */
static int is_ts(const char *s)
{
    const char *tmpl = "9999-99-99T99:99:99.999999Z";
    for (size_t i = 0; tmpl[i]; i++) {
        if (tmpl[i] == '9' ? (s[i] < '0' || s[i] > '9') : s[i] != tmpl[i])
            return 0;
    }
    return 1;
}

static void assert_logfmt_line(const char *line, const char *after_ts)
{
    assert_memory_equal(line, "ts=", 3);
    assert_true(is_ts(line + 3));
    assert_string_equal(line + 3 + TS_LEN, after_ts);
}

static void assert_json_line(const char *line, const char *after_ts)
{
    assert_memory_equal(line, "{\"ts\":\"", 7);
    assert_true(is_ts(line + 7));
    assert_string_equal(line + 7 + TS_LEN, after_ts);
}

static void logfmt_line_is_ts_level_event_then_pairs(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_LOGFMT);
    log_info("listening", "host=%s port=%d", "0.0.0.0", 7777);
    assert_logfmt_line(captured(), " level=info event=listening host=0.0.0.0 port=7777\n");
}

static void logfmt_line_without_pairs_ends_at_the_event(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_LOGFMT);
    log_warn("stopping", "%s", "");
    assert_logfmt_line(captured(), " level=warn event=stopping\n");
}

static void timestamp_is_current_utc(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_LOGFMT);
    char lo[32], hi[32];
    time_t t0 = time(NULL);
    log_info("tick", "%s", "");
    time_t t1 = time(NULL);
    strftime(lo, sizeof(lo), "%Y-%m-%dT%H:%M:%S", gmtime(&t0));
    strftime(hi, sizeof(hi), "%Y-%m-%dT%H:%M:%S", gmtime(&t1));
    const char *ts = captured() + 3;
    assert_true(strncmp(ts, lo, 19) >= 0);
    assert_true(strncmp(ts, hi, 19) <= 0);
}

static void level_names_are_lowercase_words(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_LOGFMT);
    log_debug("a", "%s", "");
    log_info("b", "%s", "");
    log_warn("c", "%s", "");
    log_error("d", "%s", "");
    const char *out = captured();
    const char *want[] = { " level=debug event=a\n", " level=info event=b\n",
                           " level=warn event=c\n", " level=error event=d\n" };
    for (int i = 0; i < 4; i++) {
        const char *nl = strchr(out, '\n');
        assert_non_null(nl);
        char line[128];
        memcpy(line, out, (size_t)(nl - out + 1));
        line[nl - out + 1] = '\0';
        assert_logfmt_line(line, want[i]);
        out = nl + 1;
    }
    assert_string_equal(out, "");
}

static void below_minimum_level_writes_nothing(void **state)
{
    (void)state;
    use(LOG_WARN, LOG_FORMAT_LOGFMT);
    log_debug("hidden", "a=%d", 1);
    log_info("hidden", "a=%d", 2);
    assert_string_equal(captured(), "");
    assert_false(log_enabled(LOG_INFO));
    assert_true(log_enabled(LOG_WARN));
    log_error("shown", "a=%d", 3);
    assert_logfmt_line(captured(), " level=error event=shown a=3\n");
}

static void logfmt_keeps_quoted_values_as_written(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_LOGFMT);
    char q[64];
    log_info("kick", "session=%u reason=%s", 7u, log_quote(q, sizeof(q), "bad \"op\"\n"));
    assert_logfmt_line(captured(), " level=info event=kick session=7 reason=\"bad \\\"op\\\"\\n\"\n");
}

static void logfmt_quotes_a_bare_value_holding_control_bytes(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_LOGFMT);
    log_info("e", "name=%s n=1", "a\x01" "b");
    assert_logfmt_line(captured(), " level=info event=e name=\"a\\u0001b\" n=1\n");
}

static void json_line_has_members_in_order(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_JSON);
    log_info("listening", "host=%s port=%d", "0.0.0.0", 7777);
    assert_json_line(captured(),
                     "\",\"level\":\"info\",\"event\":\"listening\",\"host\":\"0.0.0.0\",\"port\":7777}\n");
}

static void json_keeps_numbers_as_numbers_and_the_rest_as_strings(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_JSON);
    log_info("n", "a=0 b=-12 c=3.25 d=1e-3 e=007 f=0x10 g=1. h=- i=+1 j=.5 k=nan");
    assert_json_line(captured(), "\",\"level\":\"info\",\"event\":\"n\",\"a\":0,\"b\":-12,\"c\":3.25,"
                                 "\"d\":1e-3,\"e\":\"007\",\"f\":\"0x10\",\"g\":\"1.\",\"h\":\"-\","
                                 "\"i\":\"+1\",\"j\":\".5\",\"k\":\"nan\"}\n");
}

static void json_quoted_number_stays_a_string(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_JSON);
    log_info("q", "v=\"42\"");
    assert_json_line(captured(), "\",\"level\":\"info\",\"event\":\"q\",\"v\":\"42\"}\n");
}

static void json_escapes_quotes_backslashes_and_control_bytes(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_JSON);
    char q[128];
    log_info("e", "msg=%s", log_quote(q, sizeof(q), "say \"hi\"\\\n\t\x1f" "end"));
    assert_json_line(captured(), "\",\"level\":\"info\",\"event\":\"e\","
                                 "\"msg\":\"say \\\"hi\\\"\\\\\\n\\t\\u001fend\"}\n");
}

static void json_escapes_raw_control_bytes_in_bare_values(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_JSON);
    log_info("e", "v=a\x02\"b");
    assert_json_line(captured(), "\",\"level\":\"info\",\"event\":\"e\",\"v\":\"a\\u0002\\\"b\"}\n");
}

static void json_replaces_invalid_utf8_and_keeps_valid(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_JSON);
    log_info("u", "ok=caf\xc3\xa9 bad=x\xff\xc3y");
    assert_json_line(captured(), "\",\"level\":\"info\",\"event\":\"u\",\"ok\":\"caf\xc3\xa9\","
                                 "\"bad\":\"x\\ufffd\\ufffdy\"}\n");
}

static void json_bare_key_is_true(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_JSON);
    log_info("f", "draining port=1");
    assert_json_line(captured(), "\",\"level\":\"info\",\"event\":\"f\",\"draining\":true,\"port\":1}\n");
}

static void json_empty_value_is_empty_string(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_JSON);
    log_info("f", "name= x=1");
    assert_json_line(captured(), "\",\"level\":\"info\",\"event\":\"f\",\"name\":\"\",\"x\":1}\n");
}

static void long_line_is_cut_at_a_pair_and_marked(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_LOGFMT);
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_info("big", "a=%s b=%s c=%s d=%s e=1", big, big, big, big);
    const char *out = captured();
    size_t len = strlen(out);
    assert_true(len <= 2048);
    const char *tail = " truncated=true\n";
    assert_string_equal(out + len - strlen(tail), tail);
    assert_non_null(strstr(out, " c=x"));
    assert_null(strstr(out, " d=x"));
    assert_int_equal(strchr(out, '\n') - out, (ptrdiff_t)len - 1);
}

static void long_json_line_is_cut_and_stays_valid(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_JSON);
    char big[3000];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_info("big", "n=1 s=%s", big);
    const char *out = captured();
    assert_json_line(out, "\",\"level\":\"info\",\"event\":\"big\",\"n\":1,\"truncated\":true}\n");
}

static void quote_wraps_and_escapes(void **state)
{
    (void)state;
    char q[64];
    assert_string_equal(log_quote(q, sizeof(q), "a \"b\" \\c\n\r\t"), "\"a \\\"b\\\" \\\\c\\n\\r\\t\"");
}

static void quote_wraps_plain_values_too(void **state)
{
    (void)state;
    char q[16];
    assert_string_equal(log_quote(q, sizeof(q), "plain"), "\"plain\"");
    assert_string_equal(log_quote(q, sizeof(q), ""), "\"\"");
}

static void quote_escapes_other_control_bytes_as_unicode(void **state)
{
    (void)state;
    char q[32];
    assert_string_equal(log_quote(q, sizeof(q), "\x01\x7f"), "\"\\u0001\\u007f\"");
}

static void quote_cut_short_keeps_quotes_and_whole_escapes(void **state)
{
    (void)state;
    char q[8];
    /* "abc\n..." needs 2 for \n; only 5 bytes of room inside the quotes. */
    assert_string_equal(log_quote(q, sizeof(q), "abcd\nzz"), "\"abcd\"");
    assert_string_equal(log_quote(q, 3, "abc"), "\"\"");
    assert_string_equal(log_quote(q, 2, "abc"), "");
}

static void quote_cut_short_drops_a_partial_utf8_sequence(void **state)
{
    (void)state;
    char q[7];
    /* Room for 4 bytes inside: "ab" + the first 2 of a 3-byte character. */
    assert_string_equal(log_quote(q, sizeof(q), "ab\xe2\x82\xac"), "\"ab\"");
    assert_string_equal(log_quote(q, sizeof(q), "a\xe2\x82\xac"), "\"a\xe2\x82\xac\"");
}

enum { THREADS = 4, LINES = 500 };

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    char pad[200];
    for (int i = 0; i < LINES; i++) {
        int n = (i * 37 + id * 11) % (int)sizeof(pad);
        memset(pad, 'a' + id, (size_t)n);
        pad[n] = '\0';
        log_info("w", "id=%d i=%d pad=%s end=1", id, i, pad);
    }
    return NULL;
}

static void concurrent_writers_never_interleave_lines(void **state)
{
    (void)state;
    use(LOG_DEBUG, LOG_FORMAT_LOGFMT);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    const char *out = captured();
    int lines = 0;
    for (const char *p = out; *p; lines++) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        int id, i, end = 0;
        char pad[256] = "";
        assert_memory_equal(p, "ts=", 3);
        assert_true(is_ts(p + 3));
        int got = sscanf(p + 3 + TS_LEN, " level=info event=w id=%d i=%d pad=%255[a-z] end=%d", &id,
                         &i, pad, &end);
        if (got == 2) /* empty pad */
            got = sscanf(p + 3 + TS_LEN, " level=info event=w id=%d i=%d pad= end=%d", &id, &i, &end) + 1;
        assert_int_equal(got, 4);
        assert_int_equal(end, 1);
        for (const char *c = pad; *c; c++)
            assert_int_equal(*c, 'a' + id);
        p = nl + 1;
    }
    assert_int_equal(lines, THREADS * LINES);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(logfmt_line_is_ts_level_event_then_pairs),
        T(logfmt_line_without_pairs_ends_at_the_event),
        T(timestamp_is_current_utc),
        T(level_names_are_lowercase_words),
        T(below_minimum_level_writes_nothing),
        T(logfmt_keeps_quoted_values_as_written),
        T(logfmt_quotes_a_bare_value_holding_control_bytes),
        T(json_line_has_members_in_order),
        T(json_keeps_numbers_as_numbers_and_the_rest_as_strings),
        T(json_quoted_number_stays_a_string),
        T(json_escapes_quotes_backslashes_and_control_bytes),
        T(json_escapes_raw_control_bytes_in_bare_values),
        T(json_replaces_invalid_utf8_and_keeps_valid),
        T(json_bare_key_is_true),
        T(json_empty_value_is_empty_string),
        T(long_line_is_cut_at_a_pair_and_marked),
        T(long_json_line_is_cut_and_stays_valid),
        T(quote_wraps_and_escapes),
        T(quote_wraps_plain_values_too),
        T(quote_escapes_other_control_bytes_as_unicode),
        T(quote_cut_short_keeps_quotes_and_whole_escapes),
        T(quote_cut_short_drops_a_partial_utf8_sequence),
        T(concurrent_writers_never_interleave_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

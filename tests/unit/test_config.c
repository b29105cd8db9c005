/* Unit tests for config/: defaults, overlaying, every kind of error with its exact one-line
 * message, cross-key rules, printing and reading back, and files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const char cfg_default_json[];
extern const size_t cfg_default_json_len;

/* Loads `text` as "t.json" into a zeroed struct and returns the rc; err holds the message. */
static int load(cfg_t *c, const char *text, char *err)
{
    memset(c, 0, sizeof(*c));
    err[0] = '\0';
    return cfg_load_text(c, "t.json", text, strlen(text), err);
}

/* Asserts that `text` fails to load with exactly `want`. */
static void expect_error(const char *text, const char *want)
{
    cfg_t c;
    char err[CFG_ERR_MAX];

    assert_int_equal(load(&c, text, err), -EINVAL);
    assert_string_equal(err, want);
}

static void defaults(cfg_t *c)
{
    char err[CFG_ERR_MAX];

    memset(c, 0, sizeof(*c));
    assert_int_equal(cfg_load_defaults(c, err), 0);
}

static void defaults_have_the_values_of_server_json(void **state)
{
    cfg_t c;

    (void)state;
    defaults(&c);
    assert_string_equal(c.listen.host, "0.0.0.0");
    assert_int_equal(c.listen.port, 7777);
    assert_int_equal(c.listen.backlog, 4096);
    assert_int_equal(c.backend, CFG_BACKEND_AUTO);
    assert_true(c.socket.nodelay);
    assert_int_equal(c.session.max_frame_bytes, 8192);
    assert_int_equal(c.session.close_grace_ms, 5000);
    assert_string_equal(c.admin.host, "127.0.0.1");
    assert_int_equal(c.log.level, CFG_LOG_INFO);
    assert_int_equal(c.log.format, CFG_LOG_LOGFMT);
    assert_int_equal(c.game.tick_hz, 20);
}

/* Every key of the embedded file reaches the struct and nothing else does. */
static void defaults_print_back_as_the_embedded_file(void **state)
{
    cfg_t c;
    cJSON *file, *printed;
    char *json;

    (void)state;
    defaults(&c);
    json = cfg_to_json(&c);
    assert_non_null(json);
    file = cJSON_ParseWithLength(cfg_default_json, cfg_default_json_len);
    printed = cJSON_Parse(json);
    assert_non_null(file);
    assert_non_null(printed);
    assert_true(cJSON_Compare(file, printed, 1));
    cJSON_Delete(file);
    cJSON_Delete(printed);
    free(json);
}

static void partial_override_keeps_other_defaults(void **state)
{
    cfg_t c, d;
    char err[CFG_ERR_MAX];

    (void)state;
    defaults(&d);
    assert_int_equal(load(&c, "{\"listen\": {\"port\": 9000}, \"log\": {\"format\": \"json\"}}", err),
                     0);
    assert_int_equal(c.listen.port, 9000);
    assert_int_equal(c.log.format, CFG_LOG_JSON);
    c.listen.port = d.listen.port;
    c.log.format = d.log.format;
    assert_memory_equal(&c, &d, sizeof(c));
}

static void syntax_error_names_line_and_column(void **state)
{
    (void)state;
    expect_error("{\n  \"listen\": {\n    \"port\": 77x7\n  }\n}\n", "t.json:3:15: syntax error");
}

/* cJSON reports a bad object key one byte late; the message points at the culprit. */
static void trailing_comma_points_at_the_closing_brace(void **state)
{
    (void)state;
    expect_error("{\n  \"listen\": {\n    \"port\": 7777,\n  }\n}\n", "t.json:4:3: syntax error");
}

static void empty_text_is_syntax_error_at_1_1(void **state)
{
    (void)state;
    expect_error("", "t.json:1:1: syntax error");
}

static void trailing_garbage_is_syntax_error(void **state)
{
    (void)state;
    expect_error("{}\n{}\n", "t.json:2:1: syntax error");
}

static void nul_byte_is_syntax_error(void **state)
{
    cfg_t c;
    char err[CFG_ERR_MAX];

    (void)state;
    assert_int_equal(cfg_load_text(&c, "t.json", "{}\n\0x", 5, err), -EINVAL);
    assert_string_equal(err, "t.json:2:1: syntax error");
}

static void unknown_key_names_line_and_dotted_path(void **state)
{
    (void)state;
    expect_error("{\n  \"socket\": {\n    \"nodelay\": true,\n    \"bogus\": 1\n  }\n}",
                 "t.json:4: socket.bogus: unknown key");
}

static void unknown_key_suggests_a_near_name(void **state)
{
    (void)state;
    expect_error("{\"socket\": {\"sndbufx\": 1}}",
                 "t.json:1: socket.sndbufx: unknown key (did you mean socket.sndbuf?)");
}

/* Braces, commas and escaped quotes inside strings must not confuse the line finder. */
static void key_line_ignores_structure_inside_strings(void **state)
{
    (void)state;
    expect_error("{\"listen\": {\"host\": \"{\\\"x\\\",}\",\n"
                 "\"port\": 1},\n"
                 "\"admin\": {\"host\": \"a\\\\\",\n"
                 "\"oops\": 2}}",
                 "t.json:4: admin.oops: unknown key");
}

static void dotted_key_is_unknown(void **state)
{
    (void)state;
    expect_error("{\"listen.port\": 1}", "t.json:1: listen.port: unknown key");
}

static void control_characters_in_keys_keep_the_error_on_one_line(void **state)
{
    (void)state;
    expect_error("{\"a\\nb\": 1}", "t.json:1: a?b: unknown key");
}

static void integer_key_rejects_a_string(void **state)
{
    (void)state;
    expect_error("{\"socket\": {\"sndbuf\": \"64k\"}}",
                 "t.json:1: socket.sndbuf: must be an integer in 0..1073741824");
}

static void bool_key_rejects_a_number(void **state)
{
    (void)state;
    expect_error("{\"socket\": {\"nodelay\": 1}}", "t.json:1: socket.nodelay: must be true or false");
}

static void string_key_rejects_a_number(void **state)
{
    (void)state;
    expect_error("{\"listen\": {\"host\": 7}}", "t.json:1: listen.host: must be a string");
}

static void string_key_rejects_empty_and_too_long(void **state)
{
    char text[128];

    (void)state;
    expect_error("{\"admin\": {\"host\": \"\"}}",
                 "t.json:1: admin.host: must be a non-empty string of at most 63 bytes");
    snprintf(text, sizeof(text), "{\"admin\": {\"host\": \"%064d\"}}", 0);
    expect_error(text, "t.json:1: admin.host: must be a non-empty string of at most 63 bytes");
}

static void enum_key_lists_the_allowed_values(void **state)
{
    (void)state;
    expect_error("{\"backend\": \"kqueue\"}",
                 "t.json:1: backend: must be one of \"auto\", \"io_uring\", \"epoll\", \"iocp\"");
}

static void out_of_range_port_rejected(void **state)
{
    (void)state;
    expect_error("{\n\"listen\": {\"port\": 65536}}",
                 "t.json:2: listen.port: must be an integer in 0..65535");
}

static void fractional_number_rejected_for_integer_key(void **state)
{
    (void)state;
    expect_error("{\"workers\": 1.5}", "t.json:1: workers: must be an integer in 0..256");
}

static void integral_exponent_accepted_for_integer_key(void **state)
{
    cfg_t c;
    char err[CFG_ERR_MAX];

    (void)state;
    assert_int_equal(load(&c, "{\"session\": {\"idle_timeout_ms\": 3e4}}", err), 0);
    assert_int_equal(c.session.idle_timeout_ms, 30000);
}

static void number_beyond_uint32_rejected(void **state)
{
    (void)state;
    expect_error("{\"guard\": {\"max_bytes_per_sec\": 4294967296}}",
                 "t.json:1: guard.max_bytes_per_sec: must be an integer in 0..1073741824");
}

static void negative_number_rejected(void **state)
{
    (void)state;
    expect_error("{\"socket\": {\"rcvbuf\": -1}}",
                 "t.json:1: socket.rcvbuf: must be an integer in 0..1073741824");
}

static void duplicate_key_reported_at_its_second_line(void **state)
{
    (void)state;
    expect_error("{\"session\": {\n\"max_sessions\": 5,\n\"max_sessions\": 6}}",
                 "t.json:3: session.max_sessions: duplicate key");
}

static void duplicate_section_rejected(void **state)
{
    (void)state;
    expect_error("{\"io\": {},\n\"io\": {}}", "t.json:2: io: duplicate key");
}

static void section_that_is_not_an_object_rejected(void **state)
{
    (void)state;
    expect_error("{\"log\": {},\n \"socket\": [1]}", "t.json:2: socket: must be an object");
}

static void top_level_must_be_an_object(void **state)
{
    (void)state;
    expect_error("\n[1, 2]", "t.json:2: the top level must be an object");
}

static void chunk_smaller_than_frame_rejected_on_load(void **state)
{
    (void)state;
    expect_error("{\"session\": {\"max_frame_bytes\": 20000}}",
                 "t.json: session.send_chunk_bytes: must be >= session.max_frame_bytes (20000)");
}

static void queue_limit_smaller_than_chunk_rejected_on_load(void **state)
{
    (void)state;
    expect_error("{\"session\": {\"send_queue_limit_bytes\": 300}}",
                 "t.json: session.send_queue_limit_bytes: must be >= session.send_chunk_bytes "
                 "(16384)");
}

static void recv_buffers_must_be_a_power_of_two(void **state)
{
    (void)state;
    expect_error("{\"io\": {\"recv_buffers\": 1000}}", "t.json: io.recv_buffers: must be a power of two");
}

static void validate_reports_cross_key_rule_without_location(void **state)
{
    cfg_t c;
    char err[CFG_ERR_MAX];

    (void)state;
    defaults(&c);
    c.session.send_chunk_bytes = 4096;
    assert_int_equal(cfg_validate(&c, err), -EINVAL);
    assert_string_equal(err, "session.send_chunk_bytes: must be >= session.max_frame_bytes (8192)");
}

/* CLI overrides bypass JSON, so validate re-checks every key's range. */
static void validate_rejects_out_of_range_override(void **state)
{
    cfg_t c;
    char err[CFG_ERR_MAX];

    (void)state;
    defaults(&c);
    c.workers = 999;
    assert_int_equal(cfg_validate(&c, err), -EINVAL);
    assert_string_equal(err, "workers: must be an integer in 0..256");
}

static void failed_load_leaves_output_untouched(void **state)
{
    cfg_t c, before;
    char err[CFG_ERR_MAX];

    (void)state;
    memset(&c, 0xab, sizeof(c));
    memcpy(&before, &c, sizeof(c));
    assert_int_equal(cfg_load_text(&c, "t.json", "{\"workers\": 1, \"x\": 1}", 22, err), -EINVAL);
    assert_memory_equal(&c, &before, sizeof(c));
}

static void round_trip(const char *text)
{
    cfg_t a, b;
    char err[CFG_ERR_MAX];
    char *json;

    assert_int_equal(load(&a, text, err), 0);
    json = cfg_to_json(&a);
    assert_non_null(json);
    assert_int_equal(load(&b, json, err), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    free(json);
}

static void round_trip_of_defaults_is_identical(void **state)
{
    (void)state;
    round_trip("{}");
}

static void round_trip_with_every_key_changed_is_identical(void **state)
{
    (void)state;
    round_trip("{\"listen\": {\"host\": \"::1\", \"port\": 0, \"backlog\": 1},"
               " \"backend\": \"epoll\", \"workers\": 256,"
               " \"socket\": {\"sndbuf\": 1073741824, \"rcvbuf\": 1, \"nodelay\": false},"
               " \"io\": {\"recv_buffer_bytes\": 512, \"recv_buffers\": 32768, \"max_events\": 65536},"
               " \"session\": {\"max_sessions\": 16777215, \"max_frame_bytes\": 4,"
               " \"send_chunk_bytes\": 256, \"send_queue_limit_bytes\": 256,"
               " \"login_timeout_ms\": 0, \"idle_timeout_ms\": 86400000, \"close_grace_ms\": 1},"
               " \"guard\": {\"max_packets_per_sec\": 10000000, \"max_bytes_per_sec\": 7,"
               " \"max_conns_per_ip\": 1000000},"
               " \"admin\": {\"host\": \"a \\\"quoted\\\" \\\\ name\", \"port\": 65535, \"token\": \"s3cr\\\"et\"},"
               " \"log\": {\"level\": \"error\", \"format\": \"json\"}, \"game\": {\"tick_hz\": 1000}}");
}

static void load_file_missing_names_path_and_reason(void **state)
{
    cfg_t c;
    char err[CFG_ERR_MAX];

    (void)state;
    assert_int_equal(cfg_load_file(&c, "/nonexistent/gskel.json", err), -ENOENT);
    assert_string_equal(err, "/nonexistent/gskel.json: cannot read: No such file or directory");
}

/* Writes `len` bytes of `text` to a fresh temporary file; the caller unlinks `path`. */
static void write_temp(char *path, const char *text, size_t len)
{
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void load_file_reads_and_names_errors_after_the_path(void **state)
{
    char path[] = "/tmp/gskel_test_config_XXXXXX";
    char want[CFG_ERR_MAX];
    const char *text = "{\"game\": {\"tick_hz\": 30},\n\"game2\": 1}";
    cfg_t c;
    char err[CFG_ERR_MAX];

    (void)state;
    write_temp(path, text, strlen(text));
    assert_int_equal(cfg_load_file(&c, path, err), -EINVAL);
    snprintf(want, sizeof(want), "%s:2: game2: unknown key (did you mean game?)", path);
    assert_string_equal(err, want);
    unlink(path);
}

static void load_file_too_large_rejected(void **state)
{
    char path[] = "/tmp/gskel_test_config_XXXXXX";
    char want[CFG_ERR_MAX];
    char *big = malloc(CFG_FILE_MAX + 1);
    cfg_t c;
    char err[CFG_ERR_MAX];

    (void)state;
    assert_non_null(big);
    memset(big, ' ', CFG_FILE_MAX + 1);
    big[0] = '{';
    big[CFG_FILE_MAX] = '}';
    write_temp(path, big, CFG_FILE_MAX + 1);
    assert_int_equal(cfg_load_file(&c, path, err), -EFBIG);
    snprintf(want, sizeof(want), "%s: file too large (limit %u bytes)", path,
             (unsigned)CFG_FILE_MAX);
    assert_string_equal(err, want);
    unlink(path);
    free(big);
}

static void backend_names_parse_back(void **state)
{
    cfg_backend_t b;

    (void)state;
    for (int i = CFG_BACKEND_AUTO; i <= CFG_BACKEND_IOCP; i++) {
        assert_int_equal(cfg_backend_parse(cfg_backend_name((cfg_backend_t)i), &b), 0);
        assert_int_equal(b, i);
    }
    assert_string_equal(cfg_backend_name(CFG_BACKEND_IO_URING), "io_uring");
    assert_int_equal(cfg_backend_parse("kqueue", &b), -EINVAL);
}

static void host_port_splits_and_refuses(void **state)
{
    char host[CFG_HOST_MAX];
    int port = 0;

    (void)state;
    assert_int_equal(cfg_split_host_port("127.0.0.1:6379", host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6379);
    assert_int_equal(cfg_split_host_port("redis.internal:1", host, &port), 0);
    assert_string_equal(host, "redis.internal");
    assert_int_equal(port, 1);
    const char *bad[] = { "", "localhost", ":6379", "h:", "h:0", "h:65536", "h:+1", "h:-1", "h:12x", "h: 1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(cfg_split_host_port(bad[i], host, &port), -1);
    char longer[CFG_HOST_MAX + 8];
    memset(longer, 'a', CFG_HOST_MAX);
    strcpy(longer + CFG_HOST_MAX, ":1");
    assert_int_equal(cfg_split_host_port(longer, host, &port), -1);
}

/* With an address the cluster needs this instance's name, one that fits between spaces. */
static void cluster_keys_are_checked_together(void **state)
{
    cfg_t c;
    char err[CFG_ERR_MAX];

    (void)state;
    defaults(&c);
    assert_int_equal(cfg_validate(&c, err), 0); /* off by default */
    strcpy(c.cluster.redis.address, "127.0.0.1:6379");
    assert_int_equal(cfg_validate(&c, err), -EINVAL);
    assert_string_equal(err, "cluster.redis.instance_id: required when cluster.redis.address is set");
    strcpy(c.cluster.redis.instance_id, "eu 1");
    assert_int_equal(cfg_validate(&c, err), -EINVAL);
    assert_string_equal(err, "cluster.redis.instance_id: letters, digits, '.', '_' and '-' only");
    strcpy(c.cluster.redis.instance_id, "eu-1.a_b");
    assert_int_equal(cfg_validate(&c, err), 0);
    strcpy(c.cluster.redis.address, "127.0.0.1");
    assert_int_equal(cfg_validate(&c, err), -EINVAL);
    assert_string_equal(err, "cluster.redis.address: must be \"host:port\" (port 1-65535) or \"\"");
    defaults(&c);
    strcpy(c.cluster.redis.key_prefix, "game*:");
    assert_int_equal(cfg_validate(&c, err), -EINVAL);
    assert_string_equal(err, "cluster.redis.key_prefix: no '*', '?', '[', ']', '\\' or spaces");
    expect_error("{\"cluster\": {\"redis\": {\"queue_entries\": 1000}}}",
                 "t.json: cluster.redis.queue_entries: must be a power of two");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_have_the_values_of_server_json),
        cmocka_unit_test(host_port_splits_and_refuses),
        cmocka_unit_test(cluster_keys_are_checked_together),
        cmocka_unit_test(defaults_print_back_as_the_embedded_file),
        cmocka_unit_test(partial_override_keeps_other_defaults),
        cmocka_unit_test(syntax_error_names_line_and_column),
        cmocka_unit_test(trailing_comma_points_at_the_closing_brace),
        cmocka_unit_test(empty_text_is_syntax_error_at_1_1),
        cmocka_unit_test(trailing_garbage_is_syntax_error),
        cmocka_unit_test(nul_byte_is_syntax_error),
        cmocka_unit_test(unknown_key_names_line_and_dotted_path),
        cmocka_unit_test(unknown_key_suggests_a_near_name),
        cmocka_unit_test(key_line_ignores_structure_inside_strings),
        cmocka_unit_test(dotted_key_is_unknown),
        cmocka_unit_test(control_characters_in_keys_keep_the_error_on_one_line),
        cmocka_unit_test(integer_key_rejects_a_string),
        cmocka_unit_test(bool_key_rejects_a_number),
        cmocka_unit_test(string_key_rejects_a_number),
        cmocka_unit_test(string_key_rejects_empty_and_too_long),
        cmocka_unit_test(enum_key_lists_the_allowed_values),
        cmocka_unit_test(out_of_range_port_rejected),
        cmocka_unit_test(fractional_number_rejected_for_integer_key),
        cmocka_unit_test(integral_exponent_accepted_for_integer_key),
        cmocka_unit_test(number_beyond_uint32_rejected),
        cmocka_unit_test(negative_number_rejected),
        cmocka_unit_test(duplicate_key_reported_at_its_second_line),
        cmocka_unit_test(duplicate_section_rejected),
        cmocka_unit_test(section_that_is_not_an_object_rejected),
        cmocka_unit_test(top_level_must_be_an_object),
        cmocka_unit_test(chunk_smaller_than_frame_rejected_on_load),
        cmocka_unit_test(queue_limit_smaller_than_chunk_rejected_on_load),
        cmocka_unit_test(recv_buffers_must_be_a_power_of_two),
        cmocka_unit_test(validate_reports_cross_key_rule_without_location),
        cmocka_unit_test(validate_rejects_out_of_range_override),
        cmocka_unit_test(failed_load_leaves_output_untouched),
        cmocka_unit_test(round_trip_of_defaults_is_identical),
        cmocka_unit_test(round_trip_with_every_key_changed_is_identical),
        cmocka_unit_test(load_file_missing_names_path_and_reason),
        cmocka_unit_test(load_file_reads_and_names_errors_after_the_path),
        cmocka_unit_test(load_file_too_large_rejected),
        cmocka_unit_test(backend_names_parse_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

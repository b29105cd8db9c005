/* bench_metrics: the admin endpoint's exposition text is read as the server writes it, and tick
 * quantiles between two scrapes are interpolated exactly as Prometheus' histogram_quantile. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "bench.h"

/* As server/admin_render.c writes it (abridged), CRLF-free, HELP and TYPE lines included. */
static const char EXPOSITION[] =
    "# HELP gskel_sessions_active Sessions open now.\n"
    "# TYPE gskel_sessions_active gauge\n"
    "gskel_sessions_active 2000\n"
    "# HELP gskel_disconnects_total Sessions ended, and connections refused at accept, by reason.\n"
    "# TYPE gskel_disconnects_total counter\n"
    "gskel_disconnects_total{reason=\"client_close\"} 7\n"
    "gskel_disconnects_total{reason=\"cheat\"} 2\n"
    "# TYPE gskel_bytes_sent_total counter\n"
    "gskel_bytes_sent_total 123456789\n"
    "gskel_frames_sent_total 40000\n"
    "gskel_send_calls_total 20000\n"
    "gskel_backend_info{backend=\"epoll\"} 1\n"
    "# HELP gskel_tick_seconds Time the logic thread spent on each tick.\n"
    "# TYPE gskel_tick_seconds histogram\n"
    "gskel_tick_seconds_bucket{le=\"0.001\"} 0\n"
    "gskel_tick_seconds_bucket{le=\"0.002\"} 10\n"
    "gskel_tick_seconds_bucket{le=\"0.005\"} 30\n"
    "gskel_tick_seconds_bucket{le=\"+Inf\"} 30\n"
    "gskel_tick_seconds_sum 0.081000\n"
    "gskel_tick_seconds_count 30\n"
    "gskel_tick_overruns_total 1\n"
    "gskel_game_dropped_in_total 0\n"
    "gskel_game_dropped_out_total 3\n";

static bench_metrics_t a, b;

static void parse(bench_metrics_t *m, const char *text)
{
    assert_int_equal(bench_metrics_parse(text, strlen(text), m), 0);
}

static void reads_the_series_the_server_writes(void **state)
{
    (void)state;
    parse(&b, EXPOSITION);
    assert_true(b.bytes_sent == 123456789.0);
    assert_true(b.frames_sent == 40000.0 && b.send_calls == 20000.0);
    assert_true(b.tick_count == 30.0 && fabs(b.tick_sum - 0.081) < 1e-12);
    assert_true(b.tick_overruns == 1.0 && b.dropped_in == 0.0 && b.dropped_out == 3.0);
    assert_int_equal(b.buckets, 4);
    assert_true(b.le[0] == 0.001 && b.cum[1] == 10.0 && isinf(b.le[3]) && b.cum[3] == 30.0);
    assert_int_equal(b.reasons, 2);
    assert_string_equal(b.reason[1], "cheat");
    assert_true(b.disconnects[1] == 2.0);
}

static void absent_counters_are_nan(void **state)
{
    (void)state;
    parse(&b, "gskel_sessions_active 3\n");
    assert_true(isnan(b.bytes_sent) && isnan(b.tick_count));
    assert_int_equal(b.buckets, 0);
    assert_true(isnan(bench_metrics_quantile(NULL, &b, 0.5)));
}

static void lines_that_are_not_samples_are_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "gskel_bytes_sent_total\n",
        "gskel_bytes_sent_total lots\n",
        "gskel_tick_seconds_bucket{le=\"soon\"} 3\n",
        "gskel_tick_seconds_bucket{other=\"1\"} 3\n",
        "gskel_tick_seconds_bucket{le=\"0.1\" 3\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bench_metrics_parse(bad[i], strlen(bad[i]), &b), -EINVAL);
}

static void crlf_and_timestamps_are_accepted(void **state)
{
    (void)state;
    parse(&b, "gskel_bytes_sent_total 42 1700000000000\r\ngskel_send_calls_total 7\r\n");
    assert_true(b.bytes_sent == 42.0 && b.send_calls == 7.0);
}

static void quantile_interpolates_linearly_inside_its_bucket(void **state)
{
    (void)state;
    parse(&b, EXPOSITION);
    /* p50: rank 15 falls in (0.002, 0.005], 5 of its 20 in: 0.002 + 0.003 * 5/20. */
    assert_true(fabs(bench_metrics_quantile(NULL, &b, 0.50) - 0.00275) < 1e-12);
    /* p99: rank 29.7, 19.7 of 20 in. */
    assert_true(fabs(bench_metrics_quantile(NULL, &b, 0.99) - (0.002 + 0.003 * 19.7 / 20.0)) < 1e-12);
}

static void the_first_bucket_starts_at_zero(void **state)
{
    (void)state;
    parse(&b, "gskel_tick_seconds_bucket{le=\"0.001\"} 4\ngskel_tick_seconds_bucket{le=\"+Inf\"} 4\n");
    assert_true(fabs(bench_metrics_quantile(NULL, &b, 0.5) - 0.0005) < 1e-12);
}

static void a_quantile_in_the_inf_bucket_is_the_last_finite_bound(void **state)
{
    (void)state;
    parse(&b, "gskel_tick_seconds_bucket{le=\"0.01\"} 90\ngskel_tick_seconds_bucket{le=\"0.25\"} 95\n"
              "gskel_tick_seconds_bucket{le=\"+Inf\"} 100\n");
    assert_true(bench_metrics_quantile(NULL, &b, 0.99) == 0.25);
}

static void the_window_is_the_difference_of_two_scrapes(void **state)
{
    (void)state;
    /* 1,000 fast ticks before the window must not pull its median down. */
    parse(&a, "gskel_tick_seconds_bucket{le=\"0.001\"} 1000\ngskel_tick_seconds_bucket{le=\"0.002\"} 1000\n"
              "gskel_tick_seconds_bucket{le=\"0.005\"} 1000\ngskel_tick_seconds_bucket{le=\"+Inf\"} 1000\n");
    parse(&b, "gskel_tick_seconds_bucket{le=\"0.001\"} 1000\ngskel_tick_seconds_bucket{le=\"0.002\"} 1010\n"
              "gskel_tick_seconds_bucket{le=\"0.005\"} 1030\ngskel_tick_seconds_bucket{le=\"+Inf\"} 1030\n");
    assert_true(fabs(bench_metrics_quantile(&a, &b, 0.50) - 0.00275) < 1e-12);
    assert_true(bench_metrics_delta(1000.0, 1030.0) == 30.0);
}

static void buckets_out_of_order_are_sorted(void **state)
{
    (void)state;
    parse(&b, "gskel_tick_seconds_bucket{le=\"+Inf\"} 30\ngskel_tick_seconds_bucket{le=\"0.005\"} 30\n"
              "gskel_tick_seconds_bucket{le=\"0.001\"} 0\ngskel_tick_seconds_bucket{le=\"0.002\"} 10\n");
    assert_true(b.le[0] == 0.001 && b.le[2] == 0.005 && isinf(b.le[3]));
    assert_true(fabs(bench_metrics_quantile(NULL, &b, 0.50) - 0.00275) < 1e-12);
}

static void nothing_comparable_gives_nan(void **state)
{
    (void)state;
    parse(&a, EXPOSITION);
    parse(&b, EXPOSITION);
    assert_true(isnan(bench_metrics_quantile(&a, &b, 0.5))); /* no tick in between */
    /* A restart in between: counts went down. */
    parse(&a, "gskel_tick_seconds_bucket{le=\"0.001\"} 50\ngskel_tick_seconds_bucket{le=\"+Inf\"} 50\n");
    parse(&b, "gskel_tick_seconds_bucket{le=\"0.001\"} 5\ngskel_tick_seconds_bucket{le=\"+Inf\"} 60\n");
    assert_true(isnan(bench_metrics_quantile(&a, &b, 0.5)));
    assert_true(isnan(bench_metrics_delta(50.0, 5.0)));
    /* Other bucket bounds. */
    parse(&b, "gskel_tick_seconds_bucket{le=\"0.002\"} 60\ngskel_tick_seconds_bucket{le=\"+Inf\"} 60\n");
    assert_true(isnan(bench_metrics_quantile(&a, &b, 0.5)));
    /* No +Inf bucket: not a whole histogram. */
    parse(&b, "gskel_tick_seconds_bucket{le=\"0.001\"} 5\ngskel_tick_seconds_bucket{le=\"0.002\"} 6\n");
    assert_true(isnan(bench_metrics_quantile(NULL, &b, 0.5)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_the_series_the_server_writes),
        cmocka_unit_test(absent_counters_are_nan),
        cmocka_unit_test(lines_that_are_not_samples_are_rejected),
        cmocka_unit_test(crlf_and_timestamps_are_accepted),
        cmocka_unit_test(quantile_interpolates_linearly_inside_its_bucket),
        cmocka_unit_test(the_first_bucket_starts_at_zero),
        cmocka_unit_test(a_quantile_in_the_inf_bucket_is_the_last_finite_bound),
        cmocka_unit_test(the_window_is_the_difference_of_two_scrapes),
        cmocka_unit_test(buckets_out_of_order_are_sorted),
        cmocka_unit_test(nothing_comparable_gives_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

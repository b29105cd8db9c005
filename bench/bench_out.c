/* Figures out: one JSON object (machine-read by run_bench.py and the tests) or "key: value"
 * lines for people. Keys are the same in both. */
#include <math.h>

#include "bench.h"

void bench_out_begin(bench_out_t *out, FILE *f, bool json)
{
    out->f = f;
    out->json = json;
    out->n = 0;
    if (json)
        fputc('{', f);
}

static void bench_out_key(bench_out_t *out, const char *key)
{
    if (out->json)
        fprintf(out->f, "%s\"%s\": ", out->n ? ", " : "", key);
    else
        fprintf(out->f, "%-28s ", key);
    out->n++;
}

static void bench_out_eol(bench_out_t *out)
{
    if (!out->json)
        fputc('\n', out->f);
}

void bench_out_u64(bench_out_t *out, const char *key, uint64_t v)
{
    bench_out_key(out, key);
    fprintf(out->f, "%llu", (unsigned long long)v);
    bench_out_eol(out);
}

void bench_out_num(bench_out_t *out, const char *key, double v, int decimals)
{
    bench_out_key(out, key);
    /* JSON has no NaN/inf: a figure that could not be computed is null. */
    if (!isfinite(v))
        fputs(out->json ? "null" : "n/a", out->f);
    else
        fprintf(out->f, "%.*f", decimals, v);
    bench_out_eol(out);
}

void bench_out_str(bench_out_t *out, const char *key, const char *v)
{
    bench_out_key(out, key);
    /* Values are scenario names and fixed words: nothing to escape. */
    fprintf(out->f, out->json ? "\"%s\"" : "%s", v);
    bench_out_eol(out);
}

void bench_out_bool(bench_out_t *out, const char *key, bool v)
{
    bench_out_key(out, key);
    fputs(v ? "true" : "false", out->f);
    bench_out_eol(out);
}

void bench_out_end(bench_out_t *out)
{
    if (out->json)
        fputs("}\n", out->f);
    fflush(out->f);
}

void bench_out_latency(bench_out_t *out, const bench_run_t *r)
{
    const hist_t *h = &r->total.hist;
    bench_out_num(out, "p50_us", (double)hist_percentile(h, 50.0) / 1e3, 1);
    bench_out_num(out, "p90_us", (double)hist_percentile(h, 90.0) / 1e3, 1);
    bench_out_num(out, "p99_us", (double)hist_percentile(h, 99.0) / 1e3, 1);
    bench_out_num(out, "p999_us", (double)hist_percentile(h, 99.9) / 1e3, 1);
    bench_out_num(out, "max_us", (double)h->max / 1e3 * (h->total != 0), 1);
    bench_out_num(out, "mean_us", hist_mean(h) / 1e3, 1);
}

void bench_out_tcp(bench_out_t *out, const bench_run_t *r, bool client_side_too)
{
    if (!r->tcp_ok)
        return;
    bench_out_u64(out, "server_time_wait", r->server_tcp.state[BENCH_TCP_TIME_WAIT - 1]);
    bench_out_u64(out, "server_close_wait", r->server_tcp.state[BENCH_TCP_CLOSE_WAIT - 1]);
    if (!client_side_too)
        return;
    bench_out_u64(out, "client_time_wait", r->client_tcp.state[BENCH_TCP_TIME_WAIT - 1]);
    bench_out_u64(out, "client_close_wait", r->client_tcp.state[BENCH_TCP_CLOSE_WAIT - 1]);
}

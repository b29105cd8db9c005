/* The server's admin /metrics for the bench (bench.h, "bench_metrics"): one blocking HTTP/1.1 GET
 * that closes first, as the admin port asks of its clients; a parser for the few series the bench
 * reads; and the quantile of a histogram between two scrapes, computed the way Prometheus'
 * histogram_quantile does, so the bench's figures and an operator's dashboard agree. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bench.h"

static const char BENCH_METRICS_REQUEST[] =
    "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: gskel-bench\r\n\r\n";

/* Counters read by name: where each goes. */
typedef struct bench_series {
    const char *name;
    size_t off;
} bench_series_t;

#define BS(name, field) { name, offsetof(bench_metrics_t, field) }
static const bench_series_t bench_series[] = {
    BS("gskel_bytes_sent_total", bytes_sent),
    BS("gskel_frames_sent_total", frames_sent),
    BS("gskel_send_calls_total", send_calls),
    BS("gskel_tick_seconds_count", tick_count),
    BS("gskel_tick_seconds_sum", tick_sum),
    BS("gskel_tick_overruns_total", tick_overruns),
    BS("gskel_game_dropped_in_total", dropped_in),
    BS("gskel_game_dropped_out_total", dropped_out),
};

/* The value of label `key` in a label set `{a="x",b="y"}` (no escapes: the server writes none). */
static int bench_label(const char *set, size_t len, const char *key, const char **v, size_t *vlen)
{
    size_t klen = strlen(key);
    for (size_t i = 1; i + klen + 2 < len; i++) {
        if ((set[i - 1] == '{' || set[i - 1] == ',') && !memcmp(set + i, key, klen) && set[i + klen] == '=' &&
            set[i + klen + 1] == '"') {
            const char *start = set + i + klen + 2;
            const char *end = memchr(start, '"', len - (size_t)(start - set));
            if (!end)
                return -EINVAL;
            *v = start;
            *vlen = (size_t)(end - start);
            return 0;
        }
    }
    return -ENOENT;
}

static int bench_metrics_bucket(bench_metrics_t *m, const char *set, size_t set_len, double value)
{
    const char *v;
    size_t vlen;
    char num[32];
    if (bench_label(set, set_len, "le", &v, &vlen) < 0 || vlen == 0 || vlen >= sizeof num)
        return -EINVAL;
    memcpy(num, v, vlen);
    num[vlen] = '\0';
    char *end;
    double le = strtod(num, &end); /* "+Inf" included */
    if (*end || isnan(le))
        return -EINVAL;
    if (m->buckets == BENCH_METRICS_BUCKETS)
        return -EINVAL;
    /* Exposition order is ascending in practice, but nothing promises it: insert in place. */
    uint32_t at = m->buckets;
    while (at > 0 && m->le[at - 1] > le) {
        m->le[at] = m->le[at - 1];
        m->cum[at] = m->cum[at - 1];
        at--;
    }
    m->le[at] = le;
    m->cum[at] = value;
    m->buckets++;
    return 0;
}

static int bench_metrics_reason(bench_metrics_t *m, const char *set, size_t set_len, double value)
{
    const char *v;
    size_t vlen;
    if (bench_label(set, set_len, "reason", &v, &vlen) < 0 || vlen >= sizeof m->reason[0])
        return -EINVAL;
    if (m->reasons == BENCH_METRICS_REASONS)
        return -EINVAL;
    memcpy(m->reason[m->reasons], v, vlen);
    m->reason[m->reasons][vlen] = '\0';
    m->disconnects[m->reasons++] = value;
    return 0;
}

/* One sample line: name, optional {labels}, a space, the value, an optional timestamp. */
static int bench_metrics_line(bench_metrics_t *m, const char *line, size_t len)
{
    size_t n = 0;
    while (n < len && line[n] != '{' && line[n] != ' ')
        n++;
    if (n == 0 || n == len)
        return -EINVAL;
    const char *set = line + n;
    size_t set_len = 0;
    if (line[n] == '{') {
        const char *close = memchr(set, '}', len - n);
        if (!close)
            return -EINVAL;
        set_len = (size_t)(close - set) + 1;
    }
    size_t at = n + set_len;
    if (at >= len || line[at] != ' ')
        return -EINVAL;
    char num[64];
    size_t vlen = 0;
    for (at++; at < len && line[at] != ' ' && vlen + 1 < sizeof num; at++)
        num[vlen++] = line[at];
    num[vlen] = '\0';
    char *end;
    double value = strtod(num, &end);
    if (vlen == 0 || *end)
        return -EINVAL;
    if (n == strlen("gskel_tick_seconds_bucket") && !memcmp(line, "gskel_tick_seconds_bucket", n))
        return bench_metrics_bucket(m, set, set_len, value);
    if (n == strlen("gskel_disconnects_total") && !memcmp(line, "gskel_disconnects_total", n))
        return bench_metrics_reason(m, set, set_len, value);
    for (size_t k = 0; k < sizeof bench_series / sizeof bench_series[0]; k++) {
        if (strlen(bench_series[k].name) == n && !memcmp(line, bench_series[k].name, n) && set_len == 0) {
            *(double *)((char *)m + bench_series[k].off) = value;
            break;
        }
    }
    return 0;
}

int bench_metrics_parse(const char *text, size_t len, bench_metrics_t *m)
{
    memset(m, 0, sizeof *m);
    for (size_t k = 0; k < sizeof bench_series / sizeof bench_series[0]; k++)
        *(double *)((char *)m + bench_series[k].off) = NAN;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - i;
        if (n && text[i + n - 1] == '\r')
            n--;
        if (n && text[i] != '#' && bench_metrics_line(m, text + i, n) < 0)
            return -EINVAL;
        i = end + 1;
    }
    return 0;
}

double bench_metrics_delta(double a, double b)
{
    return isnan(a) || isnan(b) || b < a ? NAN : b - a;
}

double bench_metrics_quantile(const bench_metrics_t *a, const bench_metrics_t *b, double q)
{
    uint32_t n = b->buckets;
    if (isnan(q) || q < 0.0 || q > 1.0 || n < 2 || !isinf(b->le[n - 1]))
        return NAN;
    if (a && a->buckets != n)
        return NAN;
    double cum[BENCH_METRICS_BUCKETS];
    for (uint32_t i = 0; i < n; i++) {
        if (a && a->le[i] != b->le[i])
            return NAN;
        cum[i] = a ? bench_metrics_delta(a->cum[i], b->cum[i]) : b->cum[i];
        if (isnan(cum[i]))
            return NAN;
        /* Cumulative counts never fall; a scrape torn between two buckets' reads can make one
         * look as if it did. Prometheus forces monotonicity the same way. */
        if (i > 0 && cum[i] < cum[i - 1])
            cum[i] = cum[i - 1];
    }
    double total = cum[n - 1];
    if (total <= 0.0)
        return NAN;
    double rank = q * total;
    uint32_t k = 0;
    while (k < n - 1 && cum[k] < rank)
        k++;
    if (k == n - 1)
        return b->le[n - 2];
    if (k == 0 && b->le[0] <= 0.0)
        return b->le[0];
    double start = 0.0, end = b->le[k], count = cum[k];
    if (k > 0) {
        start = b->le[k - 1];
        count -= cum[k - 1];
        rank -= cum[k - 1];
    }
    return count > 0.0 ? start + (end - start) * (rank / count) : start;
}

/* Reads until the headers and Content-Length bytes of body are in, or the deadline passes. */
static int bench_metrics_read(int fd, uint64_t deadline, char *buf, size_t cap, const char **body, size_t *body_len)
{
    size_t got = 0, head = 0, want = 0;
    for (;;) {
        if (head && got >= head + want) {
            *body = buf + head;
            *body_len = want;
            return 0;
        }
        uint64_t now = client_now_ns();
        if (now >= deadline)
            return -ETIMEDOUT;
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        int ms = (int)((deadline - now + 999999u) / 1000000u);
        int rc = poll(&pf, 1, ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -errno;
        if (rc == 0)
            continue;
        if (got == cap)
            return -EMSGSIZE;
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EPROTO; /* closed before the whole body: not what the admin port does */
        got += (size_t)r;
        if (head)
            continue;
        buf[got < cap ? got : cap - 1] = '\0';
        const char *eoh = strstr(buf, "\r\n\r\n");
        if (!eoh)
            continue;
        if (strncmp(buf, "HTTP/1.1 200 ", 13) && strncmp(buf, "HTTP/1.0 200 ", 13))
            return -EPROTO;
        head = (size_t)(eoh - buf) + 4;
        const char *cl = NULL;
        for (const char *p = strstr(buf, "\r\n"); p && p < eoh; p = strstr(p + 2, "\r\n"))
            if (!strncasecmp(p + 2, "Content-Length:", 15))
                cl = p + 17;
        if (!cl)
            return -EPROTO;
        char *end;
        unsigned long long v = strtoull(cl, &end, 10);
        if (end == cl || v > cap - head)
            return -EMSGSIZE;
        want = (size_t)v;
    }
}

int bench_metrics_fetch(const client_target_t *admin, int timeout_ms, bench_metrics_t *m)
{
    uint64_t deadline = client_now_ns() + (uint64_t)timeout_ms * 1000000u;
    bool in_progress = false;
    int fd = client_open(admin, NULL, CLIENT_NONBLOCK, &in_progress);
    if (fd < 0)
        return fd;
    int rc = 0;
    if (in_progress) {
        struct pollfd pf = { .fd = fd, .events = POLLOUT };
        rc = poll(&pf, 1, timeout_ms);
        rc = rc < 0 ? -errno : rc == 0 ? -ETIMEDOUT : client_connect_result(fd);
    }
    if (rc == 0)
        rc = client_send_all(fd, BENCH_METRICS_REQUEST, sizeof BENCH_METRICS_REQUEST - 1, timeout_ms);
    char *buf = rc == 0 ? malloc(BENCH_METRICS_MAX_BYTES) : NULL;
    if (rc == 0 && !buf)
        rc = -ENOMEM;
    const char *body = NULL;
    size_t body_len = 0;
    if (rc == 0)
        rc = bench_metrics_read(fd, deadline, buf, BENCH_METRICS_MAX_BYTES, &body, &body_len);
    /* The client closes first, after the whole response: the TIME_WAIT stays on this side. */
    close(fd);
    if (rc == 0)
        rc = bench_metrics_parse(body, body_len, m);
    free(buf);
    return rc;
}

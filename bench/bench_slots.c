/* The loop engine behind connect and churn: see bench.h. Every loop is bounded by a per-loop
 * timeout, and a slot whose socket cannot even be opened waits for the next scan to retry, so a
 * persistent failure (no ports left) shows as errors instead of a spinning client. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench.h"

#define SLOT_TIMEOUT_NS (5ull * BENCH_NS_PER_S)
#define SLOT_SCAN_NS (10ull * 1000000ull)

enum { SL_IDLE, SL_CONNECTING, SL_ACTIVE };

typedef struct slots_ctx {
    bench_child_t *ch;
    bench_slot_fn fn;
    bench_slot_t *s;
    uint32_t n, active;
    int ep;
    bench_window_t w;
    bool running;
    bench_slot_t *cur;
    bench_slot_step_t verdict;
} slots_ctx_t;

int bench_slot_send(bench_slot_t *s, uint16_t op, const void *payload, size_t len)
{
    /* Timeout 0: a request of a few bytes on a fresh connection always fits the socket buffer;
     * if it does not, the loop has failed rather than block the others. */
    return client_send_frame(&s->c, op, payload, len, 0);
}

static void slots_start(slots_ctx_t *x, uint32_t i);

static void slots_finish(slots_ctx_t *x, uint32_t i, bool ok)
{
    bench_slot_t *s = &x->s[i];
    bench_part_t *p = x->ch->part;
    epoll_ctl(x->ep, EPOLL_CTL_DEL, s->c.fd, NULL);
    client_close(&s->c, &x->ch->rx);
    uint64_t now = client_now_ns();
    if (ok) {
        if (now >= x->w.begin_ns && now < x->w.end_ns) {
            p->stat[BENCH_DONE]++;
            hist_record(&p->hist, now - s->t0);
        }
        atomic_fetch_add_explicit(&x->ch->live->done, 1, memory_order_relaxed);
    } else {
        p->stat[BENCH_ERRORS]++;
        atomic_fetch_add_explicit(&x->ch->live->errors, 1, memory_order_relaxed);
    }
    s->st = SL_IDLE;
    x->active--;
    /* A failed loop waits for the next scan: a server refusing everything must not turn this
     * into a hot loop (or a deep recursion through slots_start). */
    if (x->running && ok)
        slots_start(x, i);
}

static void slots_apply(slots_ctx_t *x, uint32_t i, bench_slot_step_t v)
{
    if (v != BENCH_SLOT_MORE)
        slots_finish(x, i, v == BENCH_SLOT_DONE);
}

static void slots_connected(slots_ctx_t *x, uint32_t i)
{
    bench_slot_t *s = &x->s[i];
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = i };
    if (epoll_ctl(x->ep, EPOLL_CTL_MOD, s->c.fd, &ev) < 0) {
        slots_finish(x, i, false);
        return;
    }
    s->st = SL_ACTIVE;
    x->ch->part->stat[BENCH_CONNS]++;
    slots_apply(x, i, x->fn(s, NULL));
}

static void slots_start(slots_ctx_t *x, uint32_t i)
{
    bench_slot_t *s = &x->s[i];
    bool in_progress = false;
    s->t0 = client_now_ns();
    s->step = 0;
    int fd = bench_child_open(x->ch, CLIENT_NONBLOCK, &in_progress);
    if (fd < 0) {
        x->ch->part->stat[BENCH_ERRORS]++;
        atomic_fetch_add_explicit(&x->ch->live->errors, 1, memory_order_relaxed);
        return; /* stays idle: the next scan retries */
    }
    client_conn_init(&s->c, fd);
    struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
    s->st = SL_CONNECTING;
    x->active++;
    if (epoll_ctl(x->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        slots_finish(x, i, false);
        return;
    }
    if (!in_progress)
        slots_connected(x, i);
}

static int slots_on_frame(void *ctx, const frame_t *f)
{
    slots_ctx_t *x = ctx;
    x->verdict = x->fn(x->cur, f);
    return x->verdict != BENCH_SLOT_MORE; /* the rest of the read belongs to a finished loop */
}

static void slots_event(slots_ctx_t *x, uint32_t i)
{
    bench_slot_t *s = &x->s[i];
    if (s->st == SL_CONNECTING) {
        if (client_connect_result(s->c.fd) < 0)
            slots_finish(x, i, false);
        else
            slots_connected(x, i);
        return;
    }
    if (s->st != SL_ACTIVE)
        return;
    x->cur = s;
    x->verdict = BENCH_SLOT_MORE;
    int rc = client_conn_read(&s->c, &x->ch->rx, slots_on_frame, x);
    if (rc == CLIENT_ESTOPPED)
        slots_apply(x, i, x->verdict);
    else if (rc <= 0 && rc != -EAGAIN)
        slots_finish(x, i, false);
}

static void slots_scan(slots_ctx_t *x, uint64_t now)
{
    for (uint32_t i = 0; i < x->n; i++) {
        bench_slot_t *s = &x->s[i];
        if (s->st != SL_IDLE && now - s->t0 > SLOT_TIMEOUT_NS)
            slots_finish(x, i, false);
        else if (s->st == SL_IDLE && x->running)
            slots_start(x, i);
    }
}

int bench_slots_run(bench_child_t *ch, bench_slot_fn fn)
{
    slots_ctx_t x = { .ch = ch, .fn = fn, .n = ch->count };
    x.s = calloc(x.n, sizeof *x.s);
    x.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!x.s || x.ep < 0)
        return -1;
    for (uint32_t i = 0; i < x.n; i++)
        x.s[i].index = ch->first + i;
    if (bench_child_go(ch, &x.w) < 0)
        return -1;
    bench_sleep_until(x.w.start_ns);
    x.running = true;
    for (uint32_t i = 0; i < x.n; i++)
        slots_start(&x, i);
    struct epoll_event evs[256];
    uint64_t next_scan = client_now_ns() + SLOT_SCAN_NS;
    uint64_t stop = x.w.end_ns + BENCH_DRAIN_NS;
    for (;;) {
        uint64_t now = client_now_ns();
        if (now >= x.w.end_ns)
            x.running = false;
        if ((!x.running && x.active == 0) || now >= stop)
            break;
        if (now >= next_scan) {
            slots_scan(&x, now);
            next_scan = now + SLOT_SCAN_NS;
        }
        int k = epoll_wait(x.ep, evs, 256, 10);
        for (int e = 0; e < k; e++)
            slots_event(&x, evs[e].data.u32);
    }
    for (uint32_t i = 0; i < x.n; i++) {
        if (x.s[i].st != SL_IDLE) {
            ch->part->stat[BENCH_LOST]++;
            ch->part->stat[BENCH_ERRORS]++;
            client_close(&x.s[i].c, &ch->rx);
        }
    }
    close(x.ep);
    free(x.s);
    return 0;
}

void bench_slots_report(const bench_run_t *r, bench_out_t *out, const char *unit)
{
    const uint64_t *s = r->total.stat;
    char key[48];
    bench_out_u64(out, "conns", r->o->conns);
    bench_out_num(out, "duration_s", r->window_s, 2);
    snprintf(key, sizeof key, "%s_per_sec", unit);
    bench_out_num(out, key, r->window_s > 0 ? (double)s[BENCH_DONE] / r->window_s : 0.0, 0);
    bench_out_u64(out, unit, s[BENCH_DONE]);
    bench_out_latency(out, r);
    bench_out_u64(out, "errors", s[BENCH_ERRORS]);
    if (r->cpu_ok) {
        snprintf(key, sizeof key, "server_cpu_us_per_%.*s", (int)strlen(unit) - 1, unit);
        bench_out_num(out, key, s[BENCH_DONE] ? (double)r->cpu_ns / 1e3 / (double)s[BENCH_DONE] : NAN, 2);
    }
}

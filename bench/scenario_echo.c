/* echo: request/reply over N connections, --pipeline frames in flight each, flat out or paced
 * to --rate msgs/s in total. Replies come back in order per connection, so a ring of send times
 * per connection is all the bookkeeping a latency needs. Latency is from the send() of a request
 * to the read that completes its reply; replies landing in [begin, end) are the figures. */
#define _GNU_SOURCE /* epoll_pwait2 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bytes.h"

/* Paced sends are released in batches this far apart: finer costs client wake-ups, coarser makes
 * bursts that flatter the server's batching. With a pipeline, the tick stretches to half a
 * pipeline's worth of frames per connection (up to ECHO_TICK_MAX_NS), so the client can put
 * several frames in one write instead of spending a syscall on each. */
#define ECHO_TICK_NS 100000ull
#define ECHO_TICK_MAX_NS 2000000ull
#define ECHO_MAX_EVENTS 512

typedef struct echo_conn {
    client_conn_t c;
    uint64_t *sent;          /* send times of the frames in flight: ring of `pipeline` */
    uint32_t head, inflight;
    uint32_t want;           /* paced: frames given to it in this pass */
    uint64_t seq_tx, seq_rx;
    uint8_t *pend;           /* what a short write left; nothing more is sent until it is out */
    uint32_t pend_len, pend_off;
    bool dead, touched;
} echo_conn_t;

typedef struct echo_ctx {
    bench_child_t *ch;
    const bench_opts_t *o;
    echo_conn_t *conns;
    uint32_t n;
    int ep;
    bench_window_t w;
    uint8_t *payload; /* the request payload; its first 8 bytes carry the sequence number */
    uint8_t *tx;
    size_t tx_cap;
    uint64_t inflight;
    uint64_t scheduled; /* paced: frames the schedule has released */
    uint32_t rr;
    uint32_t *touched;
    uint32_t ntouched;
    echo_conn_t *cur;
    uint64_t now;
    uint64_t replies;
    uint64_t tick_ns;
    double rate; /* this process's share of --rate: its connections' share */
    bool sending;
} echo_ctx_t;

static void echo_interest(echo_ctx_t *x, echo_conn_t *c, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)(c - x->conns) };
    epoll_ctl(x->ep, EPOLL_CTL_MOD, c->c.fd, &ev);
}

static void echo_kill(echo_ctx_t *x, echo_conn_t *c)
{
    if (c->dead)
        return;
    c->dead = true;
    epoll_ctl(x->ep, EPOLL_CTL_DEL, c->c.fd, NULL);
    x->ch->part->stat[BENCH_ERRORS]++;
    x->ch->part->stat[BENCH_LOST] += c->inflight;
    x->inflight -= c->inflight;
    c->inflight = 0;
    atomic_fetch_add_explicit(&x->ch->live->errors, 1, memory_order_relaxed);
}

/* Sends up to k more frames on c in one write. */
static void echo_send(echo_ctx_t *x, echo_conn_t *c, uint32_t k)
{
    uint32_t room = x->o->pipeline - c->inflight;
    if (c->dead || c->pend || k == 0 || room == 0)
        return;
    if (k > room)
        k = room;
    size_t len = 0;
    uint64_t now = client_now_ns();
    for (uint32_t i = 0; i < k; i++) {
        if (x->o->size >= 8)
            le_put_u64(x->payload, c->seq_tx);
        len += client_frame_put(x->tx + len, x->tx_cap - len, OP_ECHO, x->payload, x->o->size);
        c->sent[(c->head + c->inflight) % x->o->pipeline] = now;
        c->inflight++;
        c->seq_tx++;
    }
    x->inflight += k;
    x->ch->part->stat[BENCH_SENT] += k;
    ssize_t n = send(c->c.fd, x->tx, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        n = 0;
    if (n < 0) {
        echo_kill(x, c);
        return;
    }
    if ((size_t)n < len) {
        c->pend = malloc(len - (size_t)n);
        if (!c->pend) {
            echo_kill(x, c);
            return;
        }
        memcpy(c->pend, x->tx + n, len - (size_t)n);
        c->pend_len = (uint32_t)(len - (size_t)n);
        c->pend_off = 0;
        echo_interest(x, c, EPOLLIN | EPOLLOUT);
    }
}

static void echo_flush(echo_ctx_t *x, echo_conn_t *c)
{
    ssize_t n = send(c->c.fd, c->pend + c->pend_off, c->pend_len - c->pend_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        echo_kill(x, c);
        return;
    }
    if (n > 0)
        c->pend_off += (uint32_t)n;
    if (c->pend_off < c->pend_len)
        return;
    free(c->pend);
    c->pend = NULL;
    echo_interest(x, c, EPOLLIN);
    if (x->sending && x->rate == 0.0)
        echo_send(x, c, x->o->pipeline);
}

static int echo_on_frame(void *ctx, const frame_t *f)
{
    echo_ctx_t *x = ctx;
    echo_conn_t *c = x->cur;
    bench_part_t *part = x->ch->part;
    if (!x->now)
        x->now = client_now_ns(); /* once per read, after the recv that brought the bytes */
    if (c->inflight == 0) {
        part->stat[BENCH_ERRORS]++;
        return 0;
    }
    bool ok = f->op == OP_ECHO && f->payload_len == x->o->size &&
              (x->o->size < 8 || le_get_u64(f->payload) == c->seq_rx);
    if (!ok)
        part->stat[BENCH_ERRORS]++;
    uint64_t sent = c->sent[c->head];
    c->head = (c->head + 1) % x->o->pipeline;
    c->inflight--;
    c->seq_rx++;
    x->inflight--;
    x->replies++;
    if (x->now >= x->w.begin_ns && x->now < x->w.end_ns) {
        part->stat[BENCH_DONE]++;
        hist_record(&part->hist, x->now - sent);
    }
    return 0;
}

static void echo_readable(echo_ctx_t *x, echo_conn_t *c)
{
    x->cur = c;
    x->now = 0;
    int rc = client_conn_read(&c->c, &x->ch->rx, echo_on_frame, x);
    if (rc == -EAGAIN)
        return;
    if (rc <= 0) {
        echo_kill(x, c);
        return;
    }
    if (x->sending && x->rate == 0.0)
        echo_send(x, c, x->o->pipeline);
}

/* Paced: releases what the schedule owes by now, round robin over connections with room. */
static void echo_pace(echo_ctx_t *x, uint64_t now)
{
    const bench_opts_t *o = x->o;
    uint64_t target = (uint64_t)((double)(now - x->w.start_ns) * x->rate / 1e9);
    if (target <= x->scheduled)
        return;
    uint64_t due = target - x->scheduled;
    /* A server that falls behind must not be hit later by one huge burst: the backlog is capped
     * at what all pipelines can hold; the achieved rate shows the shortfall. */
    uint64_t cap = (uint64_t)x->n * o->pipeline;
    if (due > cap) {
        x->scheduled = target - cap;
        due = cap;
    }
    for (uint32_t probes = 0; due > 0 && probes < x->n;) {
        echo_conn_t *c = &x->conns[x->rr];
        x->rr = (x->rr + 1) % x->n;
        if (c->dead || c->pend || c->inflight + c->want >= o->pipeline) {
            probes++;
            continue;
        }
        probes = 0;
        c->want++;
        due--;
        x->scheduled++;
        if (!c->touched) {
            c->touched = true;
            x->touched[x->ntouched++] = (uint32_t)(c - x->conns);
        }
    }
    for (uint32_t i = 0; i < x->ntouched; i++) {
        echo_conn_t *c = &x->conns[x->touched[i]];
        echo_send(x, c, c->want);
        c->want = 0;
        c->touched = false;
    }
    x->ntouched = 0;
}

static uint64_t echo_timeout(const echo_ctx_t *x, uint64_t now, uint64_t drain_deadline)
{
    if (!x->sending)
        return drain_deadline > now ? drain_deadline - now : 0;
    uint64_t t = x->w.end_ns > now ? x->w.end_ns - now : 0;
    if (x->rate > 0.0) {
        uint64_t next = x->w.start_ns + (uint64_t)((double)(x->scheduled + 1) * 1e9 / x->rate);
        uint64_t wait = next > now + x->tick_ns ? next - now : x->tick_ns;
        if (wait < t)
            t = wait;
    }
    return t;
}

static void echo_loop(echo_ctx_t *x)
{
    struct epoll_event evs[ECHO_MAX_EVENTS];
    uint64_t drain_deadline = 0;
    if (x->rate == 0.0)
        for (uint32_t i = 0; i < x->n; i++)
            echo_send(x, &x->conns[i], x->o->pipeline);
    for (;;) {
        uint64_t now = client_now_ns();
        if (x->sending && now >= x->w.end_ns) {
            x->sending = false;
            drain_deadline = now + BENCH_DRAIN_NS;
        }
        if (!x->sending && (x->inflight == 0 || now >= drain_deadline))
            break;
        if (x->sending && x->rate > 0.0)
            echo_pace(x, now);
        uint64_t t = echo_timeout(x, now, drain_deadline);
        struct timespec ts = { (time_t)(t / BENCH_NS_PER_S), (long)(t % BENCH_NS_PER_S) };
        int k = epoll_pwait2(x->ep, evs, ECHO_MAX_EVENTS, &ts, NULL);
        for (int e = 0; e < k; e++) {
            echo_conn_t *c = &x->conns[evs[e].data.u32];
            if (c->dead)
                continue;
            if ((evs[e].events & EPOLLOUT) && c->pend)
                echo_flush(x, c);
            if (!c->dead && (evs[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
                echo_readable(x, c);
        }
        atomic_store_explicit(&x->ch->live->done, x->replies, memory_order_relaxed);
    }
}

static int echo_child(bench_child_t *ch)
{
    const bench_opts_t *o = ch->o;
    echo_ctx_t x = { .ch = ch, .o = o, .n = ch->count };
    x.conns = calloc(x.n, sizeof *x.conns);
    uint64_t *ring = calloc((size_t)x.n * o->pipeline, sizeof *ring);
    client_conn_t *cc = calloc(x.n, sizeof *cc);
    x.touched = calloc(x.n, sizeof *x.touched);
    x.payload = calloc(1, o->size + 8);
    x.tx_cap = (size_t)o->pipeline * (FRAME_HEADER_BYTES + o->size);
    x.tx = malloc(x.tx_cap);
    x.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!x.conns || !ring || !cc || !x.touched || !x.payload || !x.tx || x.ep < 0)
        return -1;
    memset(x.payload, 'g', o->size);
    bench_connect_all(ch, cc, x.n, o->login ? BENCH_PROVE_LOGIN : BENCH_PROVE_ECHO);
    for (uint32_t i = 0; i < x.n; i++) {
        echo_conn_t *c = &x.conns[i];
        c->c = cc[i];
        c->sent = ring + (size_t)i * o->pipeline;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = i };
        if (c->c.fd < 0 || epoll_ctl(x.ep, EPOLL_CTL_ADD, c->c.fd, &ev) < 0)
            c->dead = true;
    }
    free(cc);
    if (bench_child_go(ch, &x.w) < 0)
        return -1;
    x.rate = o->rate * (double)x.n / (double)o->conns;
    x.tick_ns = ECHO_TICK_NS;
    if (o->rate > 0.0 && o->pipeline > 1) {
        double t = (double)o->pipeline * (double)o->conns / (2.0 * o->rate) * 1e9;
        x.tick_ns = t < (double)ECHO_TICK_NS ? ECHO_TICK_NS : t > (double)ECHO_TICK_MAX_NS ? ECHO_TICK_MAX_NS : (uint64_t)t;
    }
    bench_sleep_until(x.w.start_ns);
    x.sending = true;
    echo_loop(&x);
    ch->part->stat[BENCH_LOST] += x.inflight;
    ch->part->stat[BENCH_ERRORS] += x.inflight;
    for (uint32_t i = 0; i < x.n; i++) {
        if (x.conns[i].c.fd >= 0)
            client_close(&x.conns[i].c, &ch->rx);
        free(x.conns[i].pend);
    }
    close(x.ep);
    free(x.conns);
    free(ring);
    free(x.touched);
    free(x.payload);
    free(x.tx);
    return 0;
}

static void echo_report(const bench_run_t *r, bench_out_t *out)
{
    const bench_opts_t *o = r->o;
    const uint64_t *s = r->total.stat;
    double rate = r->window_s > 0 ? (double)s[BENCH_DONE] / r->window_s : 0.0;
    bench_out_u64(out, "conns", s[BENCH_CONNS]);
    bench_out_u64(out, "pipeline", o->pipeline);
    bench_out_u64(out, "size", o->size);
    bench_out_num(out, "duration_s", r->window_s, 2);
    bench_out_num(out, "target_rate", o->rate, 0);
    bench_out_num(out, "msgs_per_sec", rate, 0);
    if (o->rate > 0.0)
        bench_out_bool(out, "rate_reached", rate >= 0.97 * o->rate);
    bench_out_latency(out, r);
    bench_out_u64(out, "msgs", s[BENCH_DONE]);
    bench_out_u64(out, "lost", s[BENCH_LOST]);
    bench_out_u64(out, "errors", s[BENCH_ERRORS]);
    if (r->cpu_ok) {
        bench_out_num(out, "server_cpu_us_per_msg",
                      s[BENCH_DONE] ? (double)r->cpu_ns / 1e3 / (double)s[BENCH_DONE] : NAN, 3);
        bench_out_num(out, "server_cpu_util", (double)r->cpu_ns / 1e9 / r->window_s, 3);
    }
}

const bench_scenario_t bench_echo = {
    .name = "echo",
    .what = "ECHO request/reply: throughput, latency, server CPU per message",
    .opts = BENCH_O_WARMUP | BENCH_O_PIPELINE | BENCH_O_SIZE | BENCH_O_RATE | BENCH_O_LOGIN,
    .default_conns = 100,
    .default_duration_s = 5.0,
    .default_warmup_s = 1.0,
    .child = echo_child,
    .report = echo_report,
};

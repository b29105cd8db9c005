/* slow: N clients send ECHO requests as fast as the server takes them and never read a reply.
 * The replies pile up in the client's receive buffer, then the server's send buffer, then the
 * server's send queue; past session.send_queue_limit_bytes the server must reset the client
 * (slow_reader) instead of buffering on its behalf. Counts the resets and how long each took; the
 * coordinator samples the server's VmRSS throughout, so the peak shows whether memory stayed
 * bounded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

/* Writes per writable event, so one connection cannot keep the loop to itself. */
#define SLOW_WRITES_PER_EVENT 16
#define SLOW_TX_BYTES (64u * 1024u)

typedef struct slow_ctx {
    bench_child_t *ch;
    client_conn_t *conns;
    uint32_t *off; /* where each connection is in the repeating run of frames */
    int ep;
    uint8_t *tx;
    size_t tx_len;
    uint64_t t0;
    uint32_t open;
} slow_ctx_t;

/* How a connection ended: err is -ECONNRESET / -EPIPE for a reset (what the server should do),
 * 0 for a FIN (a graceful close: the server now buffers nothing but holds TIME_WAIT), else an
 * error. */
static void slow_end(slow_ctx_t *x, uint32_t i, int err)
{
    client_conn_t *c = &x->conns[i];
    bench_part_t *p = x->ch->part;
    if (err == -ECONNRESET || err == -EPIPE) {
        p->stat[BENCH_RESETS]++;
        hist_record(&p->hist, client_now_ns() - x->t0);
        atomic_fetch_add_explicit(&x->ch->live->done, 1, memory_order_relaxed);
    } else {
        p->stat[err == 0 ? BENCH_EOFS : BENCH_ERRORS]++;
        atomic_fetch_add_explicit(&x->ch->live->errors, 1, memory_order_relaxed);
    }
    epoll_ctl(x->ep, EPOLL_CTL_DEL, c->fd, NULL);
    client_close(c, &x->ch->rx);
    x->open--;
}

static void slow_write(slow_ctx_t *x, uint32_t i)
{
    client_conn_t *c = &x->conns[i];
    for (int k = 0; k < SLOW_WRITES_PER_EVENT; k++) {
        ssize_t n = send(c->fd, x->tx + x->off[i], x->tx_len - x->off[i], MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            x->off[i] = (uint32_t)((x->off[i] + (size_t)n) % x->tx_len);
            x->ch->part->stat[BENCH_SENT] += (uint64_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        slow_end(x, i, n < 0 ? -errno : -EIO);
        return;
    }
}

static int slow_child(bench_child_t *ch)
{
    const bench_opts_t *o = ch->o;
    uint32_t n = ch->count;
    slow_ctx_t x = { .ch = ch };
    x.conns = calloc(n, sizeof *x.conns);
    x.off = calloc(n, sizeof *x.off);
    x.ep = epoll_create1(EPOLL_CLOEXEC);
    size_t frame = FRAME_HEADER_BYTES + o->size;
    size_t frames = SLOW_TX_BYTES / frame ? SLOW_TX_BYTES / frame : 1;
    x.tx_len = frames * frame;
    x.tx = malloc(x.tx_len);
    uint8_t *payload = calloc(1, o->size + 1);
    if (!x.conns || !x.off || x.ep < 0 || !x.tx || !payload)
        return -1;
    memset(payload, 's', o->size);
    /* A whole number of frames, so sending it round and round never cuts one. */
    for (size_t f = 0; f < frames; f++)
        client_frame_put(x.tx + f * frame, frame, OP_ECHO, payload, o->size);
    free(payload);
    bench_connect_all(ch, x.conns, n, BENCH_PROVE_ECHO);
    bench_window_t w;
    if (bench_child_go(ch, &w) < 0)
        return -1;
    bench_sleep_until(w.start_ns);
    x.t0 = client_now_ns();
    /* Never EPOLLIN: the point is not to read. EPOLLRDHUP tells a FIN from the server apart;
     * EPOLLERR/EPOLLHUP (a reset) come regardless. */
    x.open = bench_poll_all(x.ep, x.conns, n, EPOLLOUT | EPOLLRDHUP);
    struct epoll_event evs[256];
    for (uint64_t now = x.t0; x.open > 0 && now < w.end_ns; now = client_now_ns()) {
        int ms = (int)((w.end_ns - now + 999999u) / 1000000u);
        int k = epoll_wait(x.ep, evs, 256, ms);
        for (int e = 0; e < k; e++) {
            uint32_t i = evs[e].data.u32;
            if (x.conns[i].fd < 0)
                continue;
            if (evs[e].events & (EPOLLERR | EPOLLHUP)) {
                int err = client_connect_result(x.conns[i].fd);
                slow_end(&x, i, err);
            } else if (evs[e].events & EPOLLRDHUP) {
                slow_end(&x, i, 0);
            } else {
                slow_write(&x, i);
            }
        }
    }
    ch->part->stat[BENCH_LOST] = x.open; /* still not reset at the deadline */
    for (uint32_t i = 0; i < n; i++)
        if (x.conns[i].fd >= 0)
            client_abort(&x.conns[i], &ch->rx);
    close(x.ep);
    free(x.conns);
    free(x.off);
    free(x.tx);
    return 0;
}

static void slow_report(const bench_run_t *r, bench_out_t *out)
{
    const uint64_t *s = r->total.stat;
    const hist_t *h = &r->total.hist;
    bench_out_u64(out, "conns", s[BENCH_CONNS]);
    bench_out_u64(out, "size", r->o->size);
    bench_out_u64(out, "reset", s[BENCH_RESETS]);
    bench_out_u64(out, "not_reset", s[BENCH_LOST]);
    bench_out_u64(out, "fin_seen", s[BENCH_EOFS]);
    bench_out_num(out, "reset_p50_ms", (double)hist_percentile(h, 50.0) / 1e6, 1);
    bench_out_num(out, "reset_max_ms", (double)h->max / 1e6 * (h->total != 0), 1);
    bench_out_u64(out, "bytes_sent", s[BENCH_SENT]);
    if (r->before.ok) {
        bench_out_u64(out, "server_rss_before_bytes", r->before.rss);
        bench_out_u64(out, "server_rss_peak_bytes", r->rss_peak);
    }
    if (r->after.ok)
        bench_out_u64(out, "server_rss_after_bytes", r->after.rss);
    bench_out_u64(out, "errors", s[BENCH_ERRORS]);
}

const bench_scenario_t bench_slow = {
    .name = "slow",
    .what = "N clients that send and never read: the server must reset them (slow_reader)",
    .opts = BENCH_O_SIZE,
    .default_conns = 10,
    .default_duration_s = 10.0,
    .settle_ms = 300,
    .child = slow_child,
    .report = slow_report,
};

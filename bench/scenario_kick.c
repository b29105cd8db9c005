/* kick: N "cheaters" each send a frame whose length field is 2 (under the 4-byte header), the
 * protocol violation every server must answer with an abortive close, all N back to back: a kick
 * storm. Each client counts what it sees: ECONNRESET (the server reset: right) or end of stream
 * (the server sent FIN: it now holds TIME_WAIT). The coordinator then counts TIME_WAIT sockets on
 * the server's port; its CPU per kick runs until 50 ms after the last reset was seen. With
 * --at-once the coordinator holds the server stopped until every frame is out (bench_fanout.c),
 * so the server meets the whole storm in its first loop turn, the same however fast it reads. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

static int kick_ignore_frame(void *ctx, const frame_t *f)
{
    (void)ctx;
    (void)f;
    return 0;
}

static void kick_resolve(bench_child_t *ch, int ep, client_conn_t *c, int rc, uint64_t t0)
{
    bench_part_t *p = ch->part;
    if (rc == -ECONNRESET || rc == -EPIPE)
        p->stat[BENCH_RESETS]++;
    else if (rc == 0)
        p->stat[BENCH_EOFS]++;
    else
        p->stat[BENCH_ERRORS]++;
    uint64_t took = client_now_ns() - t0;
    if (took > p->stat[BENCH_ELAPSED_NS])
        p->stat[BENCH_ELAPSED_NS] = took;
    atomic_fetch_add_explicit(&ch->live->done, 1, memory_order_relaxed);
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    client_close(c, &ch->rx);
}

static int kick_child(bench_child_t *ch)
{
    uint32_t n = ch->count;
    int ep;
    client_conn_t *conns = bench_connect_polled(ch, n, BENCH_PROVE_ECHO, &ep);
    if (!conns)
        return -1;
    bench_window_t w;
    if (bench_child_go(ch, &w) < 0)
        return -1;
    bench_sleep_until(w.start_ns);
    /* len 2, op ECHO: a header that cannot even hold itself. */
    static const uint8_t bad[4] = { 0x02, 0x00, 0x01, 0x00 };
    uint64_t t0 = client_now_ns();
    uint32_t open = 0;
    for (uint32_t i = 0; i < n; i++) {
        client_conn_t *c = &conns[i];
        if (c->fd < 0)
            continue;
        int rc = client_send_all(c->fd, bad, sizeof bad, 1000);
        atomic_fetch_add_explicit(&ch->live->sent, 1, memory_order_relaxed);
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = i };
        if (rc < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
            ch->part->stat[BENCH_ERRORS]++;
            client_close(c, &ch->rx);
            continue;
        }
        ch->part->stat[BENCH_SENT]++;
        open++;
    }
    struct epoll_event evs[256];
    for (uint64_t now = t0; open > 0 && now < w.end_ns; now = client_now_ns()) {
        int ms = (int)((w.end_ns - now + 999999u) / 1000000u);
        int k = epoll_wait(ep, evs, 256, ms);
        for (int e = 0; e < k; e++) {
            client_conn_t *c = &conns[evs[e].data.u32];
            int rc = client_conn_read(c, &ch->rx, kick_ignore_frame, NULL);
            if (rc > 0 || rc == -EAGAIN)
                continue;
            kick_resolve(ch, ep, c, rc, t0);
            open--;
        }
    }
    ch->part->stat[BENCH_ERRORS] += open; /* neither reset nor closed within --duration */
    for (uint32_t i = 0; i < n; i++)
        if (conns[i].fd >= 0)
            client_close(&conns[i], &ch->rx);
    close(ep);
    free(conns);
    return 0;
}

static void kick_report(const bench_run_t *r, bench_out_t *out)
{
    const uint64_t *s = r->total.stat;
    bench_out_u64(out, "conns", s[BENCH_CONNS]);
    bench_out_u64(out, "kicked", s[BENCH_SENT]);
    bench_out_u64(out, "resets_seen", s[BENCH_RESETS]);
    bench_out_u64(out, "eofs_seen", s[BENCH_EOFS]);
    bench_out_tcp(out, r, false);
    bench_out_num(out, "seconds", (double)s[BENCH_ELAPSED_NS] / 1e9, 3);
    if (r->cpu_ok && s[BENCH_SENT])
        bench_out_num(out, "server_cpu_us_per_kick", (double)r->cpu_ns / 1e3 / (double)s[BENCH_SENT], 1);
    bench_out_u64(out, "errors", s[BENCH_ERRORS]);
}

const bench_scenario_t bench_kick = {
    .name = "kick",
    .what = "N clients send a bad frame: resets seen vs FIN, server TIME_WAIT left",
    .opts = BENCH_O_AT_ONCE,
    .default_conns = 300,
    .default_duration_s = 10.0,
    .settle_ms = 200,
    .cpu_settle_ms = 50,
    .child = kick_child,
    .report = kick_report,
};

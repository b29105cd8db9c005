/* hold: N idle connections (each proven by one ECHO reply, or logged in with --login) held for
 * --duration. The coordinator reads the server's VmRSS and the kernel's Slab before the first
 * connection and once all are up: the difference over N is what one idle player costs. On
 * loopback the Slab figure holds both ends' sockets, the client's as well as the server's. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench.h"

static int hold_ignore_frame(void *ctx, const frame_t *f)
{
    (void)f;
    (*(uint64_t *)ctx)++;
    return 0;
}

static int hold_child(bench_child_t *ch)
{
    uint32_t n = ch->count;
    int ep;
    client_conn_t *conns = bench_connect_polled(ch, n, ch->o->login ? BENCH_PROVE_LOGIN : BENCH_PROVE_ECHO, &ep);
    if (!conns)
        return -1;
    bench_poll_all(ep, conns, n, EPOLLIN | EPOLLRDHUP);
    bench_window_t w;
    if (bench_child_go(ch, &w) < 0)
        return -1;
    uint64_t unexpected = 0;
    struct epoll_event evs[256];
    /* Idle means nothing should arrive: any frame is counted, any close is a lost connection. */
    for (uint64_t now = client_now_ns(); now < w.end_ns; now = client_now_ns()) {
        int ms = (int)((w.end_ns - now + 999999u) / 1000000u);
        int k = epoll_wait(ep, evs, 256, ms);
        for (int e = 0; e < k; e++) {
            client_conn_t *c = &conns[evs[e].data.u32];
            int rc = client_conn_read(c, &ch->rx, hold_ignore_frame, &unexpected);
            if (rc > 0 || rc == -EAGAIN)
                continue;
            ch->part->stat[rc == 0 ? BENCH_EOFS : BENCH_RESETS]++;
            ch->part->stat[BENCH_ERRORS]++;
            atomic_fetch_add_explicit(&ch->live->errors, 1, memory_order_relaxed);
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            client_close(c, &ch->rx);
        }
    }
    ch->part->stat[BENCH_ERRORS] += unexpected;
    for (uint32_t i = 0; i < n; i++)
        if (conns[i].fd >= 0)
            client_close(&conns[i], &ch->rx);
    close(ep);
    free(conns);
    return 0;
}

static double hold_per_conn(uint64_t before, uint64_t after, uint64_t conns)
{
    if (conns == 0)
        return NAN;
    return ((double)after - (double)before) / (double)conns;
}

static void hold_report(const bench_run_t *r, bench_out_t *out)
{
    const uint64_t *s = r->total.stat;
    uint64_t conns = s[BENCH_CONNS];
    bench_out_u64(out, "conns", conns);
    bench_out_bool(out, "login", r->o->login);
    bench_out_num(out, "duration_s", r->window_s, 2);
    if (r->before.ok && r->ready.ok) {
        bench_out_num(out, "server_rss_bytes_per_conn", hold_per_conn(r->before.rss, r->ready.rss, conns), 0);
        bench_out_num(out, "kernel_slab_bytes_per_conn", hold_per_conn(r->before.slab, r->ready.slab, conns), 0);
        bench_out_u64(out, "server_rss_before_bytes", r->before.rss);
        bench_out_u64(out, "server_rss_held_bytes", r->ready.rss);
        bench_out_u64(out, "slab_before_bytes", r->before.slab);
        bench_out_u64(out, "slab_held_bytes", r->ready.slab);
    }
    if (r->after.ok)
        bench_out_u64(out, "server_rss_after_close_bytes", r->after.rss);
    bench_out_u64(out, "lost", s[BENCH_EOFS] + s[BENCH_RESETS]);
    bench_out_u64(out, "errors", s[BENCH_ERRORS]);
}

const bench_scenario_t bench_hold = {
    .name = "hold",
    .what = "N idle connections: server RSS and kernel slab per connection",
    .opts = BENCH_O_LOGIN,
    .default_conns = 1000,
    .default_duration_s = 3.0,
    .settle_ms = 300,
    .child = hold_child,
    .report = hold_report,
};

/* What the admin endpoint says: Prometheus metrics and the session listing. Metric names are a
 * contract (dashboards and alerts rely on them): docs/operations.md lists them. */
#include "admin.h"

#include <errno.h>

#include "alloc.h"
#include "logic.h"
#include "os.h"
#include "server.h"

static void counter(strbuf_t *out, const char *name, const char *help, uint64_t v) {
    sb_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

static void gauge(strbuf_t *out, const char *name, const char *help, uint64_t v) {
    sb_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

void admin_render_metrics(server_t *srv, strbuf_t *out) {
    worker_stats_t t;
    server_stats(srv, &t);
    counter(out, "gskel_connections_accepted_total", "Connections accepted into a session.", stat_read(&t.accepted));
    gauge(out, "gskel_sessions_active", "Sessions open now.", stat_read(&t.sessions_active));
    sb_printf(out, "# HELP gskel_disconnects_total Sessions ended, and connections refused at accept, by reason.\n"
                   "# TYPE gskel_disconnects_total counter\n");
    for (int r = 1; r < REASON_COUNT; r++)
        sb_printf(out, "gskel_disconnects_total{reason=\"%s\"} %llu\n", reason_name((reason_t)r),
                  (unsigned long long)stat_read(&t.disconnects[r]));
    counter(out, "gskel_connections_refused_full_total", "Connections reset at accept: the session table was full.",
            stat_read(&t.rejected_full));
    counter(out, "gskel_accept_errors_total", "accept() failures (EMFILE sheds a connection).", stat_read(&t.accept_errors));
    counter(out, "gskel_bytes_received_total", "Bytes read from clients.", stat_read(&t.bytes_in));
    counter(out, "gskel_bytes_sent_total", "Bytes the kernel took for clients.", stat_read(&t.bytes_out));
    counter(out, "gskel_frames_received_total", "Frames decoded from clients.", stat_read(&t.frames_in));
    counter(out, "gskel_frames_sent_total", "Frames queued to clients.", stat_read(&t.frames_out));
    counter(out, "gskel_send_calls_total", "Sends issued (frames_sent / send_calls is the coalescing ratio).",
            stat_read(&t.send_calls));
    gauge(out, "gskel_socket_sndbuf_bytes", "Effective SO_SNDBUF of new connections (Linux doubles the config).",
          srv->sndbuf_effective);
    gauge(out, "gskel_socket_rcvbuf_bytes", "Effective SO_RCVBUF of new connections.", srv->rcvbuf_effective);
    gauge(out, "gskel_workers", "Worker threads.", srv->worker_count);
    sb_printf(out, "# HELP gskel_backend_info The I/O backend in use.\n# TYPE gskel_backend_info gauge\n"
                   "gskel_backend_info{backend=\"%s\"} 1\n", srv->backend->name);
    if (!srv->logic) return;
    const logic_stats_t *ls = logic_stats(srv->logic);
    sb_printf(out, "# HELP gskel_tick_seconds Time the logic thread spent on each tick.\n"
                   "# TYPE gskel_tick_seconds histogram\n");
    uint64_t cumulative = 0;
    for (int b = 0; b <= LOGIC_TICK_BUCKETS; b++) {
        cumulative += stat_read(&ls->tick_buckets[b]);
        if (b < LOGIC_TICK_BUCKETS)
            sb_printf(out, "gskel_tick_seconds_bucket{le=\"%g\"} %llu\n", logic_tick_bounds[b], (unsigned long long)cumulative);
        else
            sb_printf(out, "gskel_tick_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cumulative);
    }
    sb_printf(out, "gskel_tick_seconds_sum %.6f\ngskel_tick_seconds_count %llu\n",
              (double)stat_read(&ls->tick_sum_us) / 1e6, (unsigned long long)stat_read(&ls->tick_count));
    counter(out, "gskel_tick_overruns_total", "Ticks that took longer than the tick period.", stat_read(&ls->overruns));
    counter(out, "gskel_game_dropped_in_total", "Game frames dropped: the logic thread's ring was full.",
            stat_read(&ls->dropped_in));
    counter(out, "gskel_game_dropped_out_total", "Game frames dropped: a worker's ring from the logic thread was full.",
            stat_read(&ls->dropped_out));
}

int admin_render_sessions(server_t *srv, strbuf_t *out) {
    worker_snapshot_t *snap = gs_calloc(1, sizeof *snap);
    snap->parts = gs_calloc(srv->worker_count, sizeof *snap->parts);
    atomic_init(&snap->pending, srv->worker_count);
    worker_cmd_t cmd = { .kind = WORKER_CMD_SNAPSHOT, .ptr = snap };
    uint32_t refused = server_post_all(srv, &cmd);
    atomic_fetch_sub(&snap->pending, refused);
    /* Each worker answers within a loop turn; the bound is for a worker that has stopped. */
    for (int waited = 0; atomic_load(&snap->pending) && waited < 3000; waited++) os_sleep_ms(1);
    if (atomic_load(&snap->pending)) {
        /* A late worker may still write into it: left allocated on purpose (rare, bounded). */
        return -ETIMEDOUT;
    }
    if (!refused) sb_append(out, "[", 1);
    int first = 1;
    for (uint32_t i = 0; i < srv->worker_count; i++) {
        strbuf_t *part = &snap->parts[i];
        if (!part->len || refused) {
            sb_free(part);
            continue;
        }
        if (!first) sb_append(out, ",", 1);
        sb_append(out, part->data, part->len);
        first = 0;
        sb_free(part);
    }
    if (!refused) sb_append(out, "]\n", 2);
    gs_free(snap->parts);
    gs_free(snap);
    return refused ? -EAGAIN : 0;
}

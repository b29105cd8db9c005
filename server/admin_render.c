/* What the admin endpoint says: Prometheus metrics and the session listing. Metric names are a
 * contract (dashboards and alerts rely on them): docs/operations.md lists them. */
#include "admin.h"

#include "sock.h"

static void counter(strbuf_t *out, const char *name, const char *help, uint64_t v) {
    sb_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

static void gauge(strbuf_t *out, const char *name, const char *help, uint64_t v) {
    sb_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

void admin_render_metrics(const admin_metrics_t *m, strbuf_t *out) {
    const worker_stats_t *w = &m->workers;
    counter(out, "gskel_connections_accepted_total", "Connections accepted into a session.", stat_read(&w->accepted));
    gauge(out, "gskel_sessions_active", "Sessions open now.", stat_read(&w->sessions_active));
    sb_printf(out, "# HELP gskel_disconnects_total Sessions ended, and connections refused at accept, by reason.\n"
                   "# TYPE gskel_disconnects_total counter\n");
    for (int r = 1; r < REASON_COUNT; r++)
        sb_printf(out, "gskel_disconnects_total{reason=\"%s\"} %llu\n", reason_name((reason_t)r),
                  (unsigned long long)stat_read(&w->disconnects[r]));
    counter(out, "gskel_connections_refused_full_total", "Connections reset at accept: the session table was full.",
            stat_read(&w->rejected_full));
    counter(out, "gskel_accept_errors_total", "accept() failures (EMFILE sheds a connection).", stat_read(&w->accept_errors));
    counter(out, "gskel_bytes_received_total", "Bytes read from clients.", stat_read(&w->bytes_in));
    counter(out, "gskel_bytes_sent_total", "Bytes the kernel took for clients.", stat_read(&w->bytes_out));
    counter(out, "gskel_frames_received_total", "Frames decoded from clients.", stat_read(&w->frames_in));
    counter(out, "gskel_frames_sent_total", "Frames queued to clients.", stat_read(&w->frames_out));
    counter(out, "gskel_send_calls_total", "Sends issued (frames_sent / send_calls is the coalescing ratio).",
            stat_read(&w->send_calls));
    counter(out, "gskel_sessions_detached_total", "Resumable sessions whose connection dropped (kept for session.resume_window_ms).",
            stat_read(&w->sessions_detached));
    counter(out, "gskel_sessions_resumed_total", "Detached sessions taken back by RESUME.", stat_read(&w->sessions_resumed));
    gauge(out, "gskel_socket_sndbuf_bytes", "Effective SO_SNDBUF of new connections (Linux doubles the config).",
          m->sndbuf);
    gauge(out, "gskel_socket_rcvbuf_bytes", "Effective SO_RCVBUF of new connections.", m->rcvbuf);
    gauge(out, "gskel_workers", "Worker threads.", m->worker_count);
    sb_printf(out, "# HELP gskel_backend_info The I/O backend in use.\n# TYPE gskel_backend_info gauge\n"
                   "gskel_backend_info{backend=\"%s\"} 1\n", m->backend);
    gauge(out, "gskel_accounts_online", "Accounts logged in here (the directory of signed logins).", m->accounts_online);
    if (m->has_cluster) {
        const cluster_stats_t *c = &m->cluster;
        gauge(out, "gskel_cluster_up", "1 while this instance's Redis connections work.", stat_read(&c->up));
        counter(out, "gskel_cluster_reconnects_total", "Times Redis came back after being away.", stat_read(&c->reconnects));
        counter(out, "gskel_cluster_send_failed_total", "Bans, claims and messages that could not reach Redis.",
                stat_read(&c->send_failed));
        counter(out, "gskel_cluster_queue_full_total", "Work refused: the queue to the cluster thread was full.",
                stat_read(&c->queue_full));
        counter(out, "gskel_cluster_messages_in_total", "Game messages received from Redis.", stat_read(&c->messages_in));
        counter(out, "gskel_cluster_messages_dropped_total", "Game messages dropped: the logic thread's queue was full.",
                stat_read(&c->messages_dropped));
        counter(out, "gskel_cluster_bans_in_total", "Bans received from other instances (and loaded on connect).",
                stat_read(&c->bans_in));
        counter(out, "gskel_cluster_evictions_total", "Local sessions ended by a later login on another instance.",
                stat_read(&c->evictions));
        sb_printf(out, "# HELP gskel_cluster_refresh_seconds How long the last check of every account held here took.\n"
                       "# TYPE gskel_cluster_refresh_seconds gauge\ngskel_cluster_refresh_seconds %.6f\n",
                  (double)stat_read(&c->refresh_us) / 1e6);
    }
    if (!m->has_game) return;
    const logic_stats_t *ls = &m->game;
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
    counter(out, "gskel_game_messages_dropped_total", "game_publish refused: its queue was full.",
            stat_read(&ls->messages_dropped));
    counter(out, "gskel_game_dropped_in_total", "Game frames dropped: the logic thread's ring was full.",
            m->game_dropped_in);
    counter(out, "gskel_game_dropped_out_total", "Game frames dropped: a worker's ring from the logic thread was full.",
            m->game_dropped_out);
}

void admin_render_sessions(const session_record_list_t *list, strbuf_t *out) {
    sb_append(out, "[", 1);
    for (size_t i = 0; i < list->n; i++) {
        const session_record_t *r = &list->v[i];
        char peer[SOCK_IP_STR_MAX];
        sb_printf(out, "%s{\"id\":%u,\"peer\":\"%s\",\"state\":\"%s\",\"age_ms\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,\"account\":%llu}",
                  i ? "," : "", r->id, sock_ip_str(&r->peer, peer, sizeof peer),
                  session_state_label((session_state_t)r->state), (unsigned long long)r->age_ms,
                  (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out, (unsigned long long)r->account);
    }
    sb_append(out, "]\n", 2);
}

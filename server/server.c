/* Server lifecycle: see server.h. */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "alloc.h"
#include "log.h"
#include "logic.h"
#include "strbuf.h"

static int open_listeners(server_t *srv, sock_t *fds, char *err, size_t err_len) {
    const cfg_t *c = &srv->cfg;
    sock_listen_opts_t o = {
        .host = c->listen.host,
        .port = (uint16_t)c->listen.port,
        .backlog = (int)c->listen.backlog,
        .sndbuf = c->socket.sndbuf,
        .rcvbuf = c->socket.rcvbuf,
        .reuseport = srv->worker_count > 1,
    };
    for (uint32_t i = 0; i < srv->worker_count; i++) {
        int rc = sock_listen(&o, &fds[i]);
        if (rc < 0) {
            snprintf(err, err_len, "cannot listen on %s:%u: %s", o.host, o.port, strerror(-rc));
            while (i--) sock_close(fds[i]);
            return rc;
        }
        /* Port 0 picks a free port once; the other workers' listeners join that one. */
        if (i == 0) sock_local_port(fds[0], &o.port);
    }
    srv->port = o.port;
    return 0;
}

static void log_start(server_t *srv, const char *backend_why, sock_t fd) {
    uint32_t snd = 0, rcv = 0;
    sock_get_buffers(fd, &snd, &rcv);
    srv->sndbuf_effective = snd;
    srv->rcvbuf_effective = rcv;
    char why[300] = "";
    if (backend_why[0]) log_quote(why, sizeof why, backend_why);
    char alloc[80];
    log_info("start", "version=%s backend=%s workers=%u allocator=%s%s%s", GSKEL_VERSION, srv->backend->name,
             srv->worker_count, log_quote(alloc, sizeof alloc, gs_alloc_name()), why[0] ? " skipped=" : "", why);
    /* Linux doubles SO_SNDBUF/SO_RCVBUF for bookkeeping overhead: log what is in force. */
    /* With 0 in the config the kernel autotunes each connection's buffers as it goes: the
     * listener's value is only where they start. */
    log_info("listening", "host=%s port=%u sndbuf=%u rcvbuf=%u sndbuf_config=%u rcvbuf_config=%u autotune=%s",
             srv->cfg.listen.host, srv->port, snd, rcv, srv->cfg.socket.sndbuf, srv->cfg.socket.rcvbuf,
             !srv->cfg.socket.sndbuf && !srv->cfg.socket.rcvbuf ? "both"
             : !srv->cfg.socket.sndbuf ? "sndbuf" : !srv->cfg.socket.rcvbuf ? "rcvbuf" : "off");
}

/* One worker that cannot run brings the whole server down: half a server is worse than none. */
static void on_worker_fatal(void *ctx) { server_request_stop(ctx); }

int server_start(server_t *srv, const cfg_t *cfg, char *err, size_t err_len) {
    memset(srv, 0, sizeof *srv);
    srv->cfg = *cfg;
    srv->live = &srv->cfg;
    atomic_init(&srv->stopping, false);
    char why[300];
    const char *want = cfg->backend == CFG_BACKEND_AUTO ? NULL : cfg_backend_name(cfg->backend);
    int rc = io_backend_select(want, &srv->backend, why, sizeof why);
    if (rc < 0) {
        snprintf(err, err_len, "backend %s: %s", want ? want : "auto", why);
        return rc;
    }
    srv->worker_count = cfg->workers ? cfg->workers : (uint32_t)os_cpu_count();
    if (srv->worker_count > cfg->session.max_sessions) srv->worker_count = cfg->session.max_sessions;
    sock_t *fds = gs_calloc(srv->worker_count, sizeof *fds);
    if ((rc = open_listeners(srv, fds, err, err_len)) < 0) {
        gs_free(fds);
        return rc;
    }
    srv->workers = gs_calloc(srv->worker_count, sizeof *srv->workers);
    guard_create(&srv->guard, &srv->cfg);
    /* The session id space is split evenly: a worker's id range says who owns a session. */
    uint32_t per = cfg->session.max_sessions / srv->worker_count;
    for (uint32_t i = 0; i < srv->worker_count; i++) {
        uint32_t slots = i + 1 == srv->worker_count ? cfg->session.max_sessions - per * i : per;
        worker_init(&srv->workers[i], &srv->cfg, i, srv->backend, srv->guard, fds[i], per * i, slots);
        srv->workers[i].on_fatal = on_worker_fatal;
        srv->workers[i].on_fatal_ctx = srv;
    }
    gs_free(fds);
    /* Before the workers run: game modules register their ops while nobody reads the table. */
    if ((rc = logic_start(&srv->logic, srv, err, err_len)) < 0) {
        server_destroy(srv);
        return rc;
    }
    log_start(srv, want ? "" : why, srv->workers[0].listen_fd);
    if ((rc = admin_start(&srv->admin, srv, err, err_len)) < 0) {
        server_destroy(srv);
        return rc;
    }
    for (uint32_t i = 0; i < srv->worker_count; i++) {
        char name[24];
        snprintf(name, sizeof name, "gskel-w%u", i);
        rc = os_thread_start(&srv->workers[i].thread, name, worker_run, &srv->workers[i]);
        if (rc < 0) {
            snprintf(err, err_len, "cannot start worker thread: %s", strerror(-rc));
            server_request_stop(srv);
            server_wait(srv);
            server_destroy(srv);
            return rc;
        }
    }
    return 0;
}

void server_request_stop(server_t *srv) {
    atomic_store(&srv->stopping, true);
    for (uint32_t i = 0; i < srv->worker_count; i++) worker_request_stop(&srv->workers[i]);
}

bool server_stopping(const server_t *srv) { return atomic_load(&srv->stopping); }

worker_t *server_worker_of(server_t *srv, uint32_t session_id) {
    uint32_t slot = session_id & SESSION_INDEX_MASK;
    for (uint32_t i = 0; i < srv->worker_count; i++) {
        const session_table_t *t = &srv->workers[i].sessions;
        if (slot >= t->base && slot - t->base < t->count) return &srv->workers[i];
    }
    return NULL;
}

uint32_t server_post_all(server_t *srv, const worker_cmd_t *cmd) {
    uint32_t refused = 0;
    for (uint32_t i = 0; i < srv->worker_count; i++)
        if (worker_post(&srv->workers[i], cmd) < 0) refused++;
    return refused;
}

typedef struct reload_report {
    strbuf_t live, restart;
} reload_report_t;

static void note_change(void *ctx, const char *path, bool live) {
    strbuf_t *sb = live ? &((reload_report_t *)ctx)->live : &((reload_report_t *)ctx)->restart;
    sb_printf(sb, "%s%s", sb->len ? "," : "", path);
}

int server_reload(server_t *srv, const cfg_t *loaded, char *err, size_t err_len) {
    cfg_t *next = gs_malloc(sizeof *next);
    *next = *srv->live;
    cfg_apply_live(next, loaded);
    char why[CFG_ERR_MAX];
    if (cfg_validate(next, why) < 0) {
        snprintf(err, err_len, "%s", why);
        gs_free(next);
        return -EINVAL;
    }
    reload_report_t report = { 0 };
    cfg_diff(srv->live, loaded, note_change, &report);
    guard_reconfigure(srv->guard, next);
    log_set_level((log_level_t)next->log.level);
    /* On the heap: a worker that stalls past the wait below still writes to it later. */
    worker_reload_t *r = gs_malloc(sizeof *r);
    r->cfg = next;
    atomic_init(&r->pending, srv->worker_count);
    worker_cmd_t cmd = { .kind = WORKER_CMD_RELOAD, .ptr = r };
    for (uint32_t i = 0; i < srv->worker_count; i++) {
        /* A full queue drains within a loop turn: retry, bounded. */
        for (int tries = 0; worker_post(&srv->workers[i], &cmd) < 0 && tries < 1000; tries++) os_sleep_ms(1);
    }
    /* Every worker reads its config on its own thread: the old one goes once all hold the new. */
    for (int waited = 0; atomic_load(&r->pending) && waited < 5000; waited++) os_sleep_ms(1);
    uint32_t pending = atomic_load(&r->pending);
    int all_took_it = pending == 0;
    if (all_took_it) gs_free(r);
    const cfg_t *old = srv->live;
    srv->live = next;
    if (old != &srv->cfg && all_took_it) gs_free((void *)old);
    char live[600], restart[600];
    log_info("reload", "changed=%s restart_needed=%s",
             log_quote(live, sizeof live, report.live.len ? report.live.data : ""),
             log_quote(restart, sizeof restart, report.restart.len ? report.restart.data : ""));
    if (!all_took_it) log_error("reload_stalled", "workers_pending=%u", pending);
    sb_free(&report.live);
    sb_free(&report.restart);
    /* A stalled worker may still read the old config, and the new one when it wakes. */
    return all_took_it ? 0 : -ETIMEDOUT;
}

int server_wait(server_t *srv) {
    int status = 0;
    for (uint32_t i = 0; i < srv->worker_count; i++) {
        worker_t *w = &srv->workers[i];
        if (!w->thread) continue;
        os_thread_join(w->thread);
        w->thread = NULL;
        if (w->exit_status < 0) status = w->exit_status;
    }
    return status;
}

void server_stats(const server_t *srv, worker_stats_t *out) {
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < srv->worker_count; i++) {
        const worker_stats_t *s = &srv->workers[i].stats;
        stat_add(&out->accepted, stat_read(&s->accepted));
        stat_add(&out->sessions_active, stat_read(&s->sessions_active));
        stat_add(&out->rejected_full, stat_read(&s->rejected_full));
        stat_add(&out->accept_errors, stat_read(&s->accept_errors));
        for (int r = 0; r < REASON_COUNT; r++) stat_add(&out->disconnects[r], stat_read(&s->disconnects[r]));
        stat_add(&out->bytes_in, stat_read(&s->bytes_in));
        stat_add(&out->bytes_out, stat_read(&s->bytes_out));
        stat_add(&out->frames_in, stat_read(&s->frames_in));
        stat_add(&out->frames_out, stat_read(&s->frames_out));
        stat_add(&out->send_calls, stat_read(&s->send_calls));
    }
}

void server_destroy(server_t *srv) {
    admin_stop(srv->admin);
    srv->admin = NULL;
    logic_stop(srv->logic);
    srv->logic = NULL;
    for (uint32_t i = 0; i < srv->worker_count; i++) worker_destroy(&srv->workers[i]);
    gs_free(srv->workers);
    srv->workers = NULL;
    guard_destroy(srv->guard);
    srv->guard = NULL;
    if (srv->live != &srv->cfg) gs_free((void *)srv->live);
    srv->live = &srv->cfg;
    srv->worker_count = 0;
}

/* Server lifecycle: see server.h. */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "dispatch.h"
#include "log.h"
#include "strbuf.h"

static int open_listeners(server_t *srv, sock_t *fds, uint32_t count, char *err, size_t err_len) {
    const cfg_t *c = &srv->cfg;
    sock_listen_opts_t o = {
        .host = c->listen.host,
        .port = (uint16_t)c->listen.port,
        .backlog = (int)c->listen.backlog,
        .sndbuf = c->socket.sndbuf,
        .rcvbuf = c->socket.rcvbuf,
        .reuseport = count > 1,
    };
    for (uint32_t i = 0; i < count; i++) {
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
    char why[IO_BACKEND_WHY_MAX + 20] = "";
    if (backend_why[0]) log_quote(why, sizeof why, backend_why);
    char alloc[80];
    log_info("start", "version=%s backend=%s workers=%u allocator=%s%s%s", GSKEL_VERSION, srv->backend->name,
             srv->workers.count, log_quote(alloc, sizeof alloc, gs_alloc_name()), why[0] ? " skipped=" : "", why);
    if (srv->cfg.auth.mode == CFG_AUTH_TICKET) {
        char file[CFG_PATH_BYTES + 8];
        log_info("auth", "mode=ticket key_file=%s keys=%u resume_window_ms=%u",
                 log_quote(file, sizeof file, srv->cfg.auth.key_file), auth_key_count(srv->auth),
                 srv->cfg.session.resume_window_ms);
    } else {
        log_warn("auth", "mode=none resume_window_ms=%u note=\"LOGIN takes any name: for local development only\"",
                 srv->cfg.session.resume_window_ms);
    }
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

static void register_game_op(void *ctx, uint16_t op, const char *name) {
    int *rc = ctx;
    int r = dispatch_register(op, DISPATCH_LOGGED_IN, dispatch_to_game);
    if (r < 0 && *rc == 0) {
        log_error("game_op_refused", "op=%u name=%s error=%s", op, name, strerror(-r));
        *rc = r;
    }
}

/* The logic thread and the workers' lanes to it, if any game module is compiled in. Before the
 * workers run: the modules record their ops while nobody reads dispatch. */
static int start_game(server_t *srv, char *err, size_t err_len) {
    const cfg_t *c = &srv->cfg;
    int rc = game_link_create(&srv->game, &srv->workers.split, c->game.inbound_queue_bytes, c->game.outbound_queue_bytes);
    if (rc < 0) {
        snprintf(err, err_len, "game link: %s", strerror(-rc));
        return rc;
    }
    logic_env_t env = { .cfg = &srv->cfg, .link = srv->game, .cluster = srv->cluster };
    if ((rc = logic_start(&srv->logic, &env, err, err_len)) < 0) return rc;
    if (!srv->logic) {
        game_link_destroy(srv->game);
        srv->game = NULL;
        return 0;
    }
    logic_each_op(srv->logic, register_game_op, &rc);
    if (rc < 0) {
        snprintf(err, err_len, "game logic: an op could not be registered: %s", strerror(-rc));
        return rc;
    }
    worker_set_attach_game(&srv->workers, srv->game);
    return 0;
}

static bool admin_stopping(void *ctx) { return server_stopping(ctx); }
static bool admin_draining(void *ctx) { return server_draining(ctx); }

static void admin_metrics(void *ctx, admin_metrics_t *m) {
    server_t *srv = ctx;
    memset(m, 0, sizeof *m);
    worker_set_stats(&srv->workers, &m->workers);
    m->worker_count = srv->workers.count;
    m->sndbuf = srv->sndbuf_effective;
    m->rcvbuf = srv->rcvbuf_effective;
    m->backend = srv->backend->name;
    m->accounts_online = auth_accounts_online(srv->auth);
    if (srv->cluster) {
        m->has_cluster = true;
        const cluster_stats_t *cs = cluster_stats(srv->cluster);
        stat_t *to = (stat_t *)&m->cluster;
        const stat_t *from = (const stat_t *)cs;
        for (size_t i = 0; i < sizeof m->cluster / sizeof(stat_t); i++) stat_add(&to[i], stat_read(&from[i]));
    }
    if (!srv->logic) return;
    m->has_game = true;
    const logic_stats_t *ls = logic_stats(srv->logic);
    for (int b = 0; b <= LOGIC_TICK_BUCKETS; b++) stat_add(&m->game.tick_buckets[b], stat_read(&ls->tick_buckets[b]));
    stat_add(&m->game.tick_count, stat_read(&ls->tick_count));
    stat_add(&m->game.tick_sum_us, stat_read(&ls->tick_sum_us));
    stat_add(&m->game.overruns, stat_read(&ls->overruns));
    stat_add(&m->game.messages_dropped, stat_read(&ls->messages_dropped));
    game_link_stats_read(srv->game, &m->game_dropped_in, &m->game_dropped_out);
}

static int admin_sessions(void *ctx, session_record_list_t *out) {
    return worker_set_list_sessions(&((server_t *)ctx)->workers, out);
}

static int admin_kick(void *ctx, uint32_t session_id, reason_t why, bool abort) {
    worker_t *w = worker_set_owner(&((server_t *)ctx)->workers, session_id);
    if (!w) return -ENOENT;
    worker_cmd_t cmd = { .kind = abort ? WORKER_CMD_ABORT : WORKER_CMD_KICK, .reason = (uint8_t)why,
                         .session_id = session_id };
    return worker_post(w, &cmd);
}

/* A ban here, from the admin endpoint or another instance. */
static int ban_here(server_t *srv, const sock_ip_t *ip, uint32_t seconds) {
    if (guard_ban(srv->guard, ip, seconds, os_now_us() / 1000u) < 0) return -ENOSPC;
    if (seconds) {
        /* A ban also ends what the address holds now, not only what it opens next. */
        worker_cmd_t cmd = { .kind = WORKER_CMD_ABORT_IP, .reason = REASON_BANNED, .ip = *ip };
        worker_set_post_all(&srv->workers, &cmd);
    }
    return 0;
}

static int admin_ban(void *ctx, const sock_ip_t *ip, uint32_t seconds) {
    server_t *srv = ctx;
    int rc = ban_here(srv, ip, seconds);
    if (rc == 0) cluster_publish_ban(srv->cluster, ip, seconds); /* 0: lifted everywhere */
    return rc;
}

/* ---- what other instances did (the cluster thread) ---- */

static void cluster_banned(void *ctx, const sock_ip_t *ip, uint32_t seconds) { ban_here(ctx, ip, seconds); }

static void cluster_account_elsewhere(void *ctx, uint64_t account, uint32_t session) {
    server_t *srv = ctx;
    /* The session's end releases the account here, as for any session: a kick that could not be
     * posted leaves it in the directory, where the next local login still evicts it. */
    worker_t *w = worker_set_owner(&srv->workers, session);
    worker_cmd_t cmd = { .kind = WORKER_CMD_KICK, .reason = REASON_LOGGED_IN_ELSEWHERE, .session_id = session };
    if (!w || worker_post(w, &cmd) < 0) log_warn("evict_failed", "session=%u account=%llu", session, (unsigned long long)account);
}

static const cluster_hooks_t server_cluster_hooks = { cluster_banned, cluster_account_elsewhere };

static int start_admin(server_t *srv, char *err, size_t err_len) {
    admin_env_t env = {
        .host = srv->cfg.admin.host,
        .port = (uint16_t)srv->cfg.admin.port,
        .token = srv->cfg.admin.token,
        .backend = srv->backend,
        .ctx = srv,
        .stopping = admin_stopping,
        .draining = admin_draining,
        .metrics = admin_metrics,
        .sessions = admin_sessions,
        .kick = admin_kick,
        .ban = admin_ban,
    };
    return admin_start(&srv->admin, &env, err, err_len);
}

int server_start(server_t *srv, const cfg_t *cfg, auth_t *auth, char *err, size_t err_len) {
    memset(srv, 0, sizeof *srv);
    srv->auth = auth;
    srv->cfg = *cfg;
    srv->live = &srv->cfg;
    atomic_init(&srv->stopping, false);
    atomic_init(&srv->draining, false);
    char why[IO_BACKEND_WHY_MAX];
    const char *want = cfg->backend == CFG_BACKEND_AUTO ? NULL : cfg_backend_name(cfg->backend);
    int rc = io_backend_select(want, &srv->backend, why, sizeof why);
    if (rc < 0) {
        snprintf(err, err_len, "backend %s: %s", want ? want : "auto", why);
        return rc;
    }
    uint32_t count = cfg->workers ? cfg->workers : (uint32_t)os_cpu_count();
    if (count > cfg->session.max_sessions) count = cfg->session.max_sessions;
    sock_t *fds = gs_calloc(count, sizeof *fds);
    if ((rc = open_listeners(srv, fds, count, err, err_len)) < 0) {
        gs_free(fds);
        return rc;
    }
    guard_create(&srv->guard, &srv->cfg);
    if ((rc = cluster_create(&srv->cluster, &srv->cfg, &server_cluster_hooks, srv, err, err_len)) < 0) {
        srv->config_error = true;
        gs_free(fds);
        server_destroy(srv);
        return rc;
    }
    rc = worker_set_init(&srv->workers, &srv->cfg, srv->backend, srv->guard, srv->auth, srv->cluster, fds, count);
    gs_free(fds);
    if (rc < 0) {
        snprintf(err, err_len, "cannot set up the workers: %s", strerror(-rc));
        server_destroy(srv);
        return rc;
    }
    if ((rc = start_game(srv, err, err_len)) < 0) {
        server_destroy(srv);
        return rc;
    }
    log_start(srv, want ? "" : why, srv->workers.workers[0].listen_fd);
    if ((rc = start_admin(srv, err, err_len)) < 0) {
        server_destroy(srv);
        return rc;
    }
    /* The cluster's hooks post to the workers: its thread starts once they run. */
    if ((rc = worker_set_start(&srv->workers, on_worker_fatal, srv, err, err_len)) < 0 ||
        (rc = cluster_start(srv->cluster, err, err_len)) < 0) {
        server_request_stop(srv);
        server_wait(srv);
        server_destroy(srv);
        return rc;
    }
    return 0;
}

void server_request_stop(server_t *srv) {
    atomic_store(&srv->stopping, true);
    worker_set_request_stop(&srv->workers);
}

bool server_stopping(const server_t *srv) { return atomic_load(&srv->stopping); }

void server_begin_drain(server_t *srv) { atomic_store(&srv->draining, true); }

bool server_draining(const server_t *srv) { return atomic_load(&srv->draining) || server_stopping(srv); }

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
    int all_took_it = worker_set_reload(&srv->workers, next) == 0;
    const cfg_t *old = srv->live;
    srv->live = next;
    if (old != &srv->cfg && all_took_it) gs_free((void *)old);
    char live[600], restart[600];
    log_info("reload", "changed=%s restart_needed=%s",
             log_quote(live, sizeof live, report.live.len ? report.live.data : ""),
             log_quote(restart, sizeof restart, report.restart.len ? report.restart.data : ""));
    if (!all_took_it) log_error("reload_stalled", "waited_ms=%u", WORKER_SET_ANSWER_MS);
    sb_free(&report.live);
    sb_free(&report.restart);
    /* A stalled worker may still read the old config, and the new one when it wakes. */
    return all_took_it ? 0 : -ETIMEDOUT;
}

int server_wait(server_t *srv) { return worker_set_wait(&srv->workers); }

void server_stats(const server_t *srv, worker_stats_t *out) { worker_set_stats(&srv->workers, out); }

void server_destroy(server_t *srv) {
    admin_stop(srv->admin);
    srv->admin = NULL;
    logic_stop(srv->logic);
    srv->logic = NULL;
    cluster_stop(srv->cluster); /* after the logic thread, which publishes through it */
    srv->cluster = NULL;
    worker_set_destroy(&srv->workers);
    game_link_destroy(srv->game);
    srv->game = NULL;
    guard_destroy(srv->guard);
    srv->guard = NULL;
    if (srv->live != &srv->cfg) gs_free((void *)srv->live);
    srv->live = &srv->cfg;
}

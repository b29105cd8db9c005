/* The worker loop: completions in, frames to dispatch, one flush per session per loop turn. */
#include "worker.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "proxy_gate.h"

static session_t *session_of(io_handle_t *h) { return (session_t *)h; }

/* ---- the session layer's hooks ---- */

static void on_session_output(void *ctx, session_t *s) {
    worker_t *w = ctx;
    stat_add(&w->stats.frames_out, 1);
    if (s->dirty) return;
    s->dirty = 1;
    w->dirty[w->dirty_count++] = (uint32_t)(s - w->sessions.slots);
}

/* Counts and logs a session's end once, tells the game, gives back its address's admission. */
static void on_session_ended(void *ctx, session_t *s) {
    worker_t *w = ctx;
    reason_t r = (reason_t)s->close_reason;
    stat_sub(&w->stats.sessions_active, 1);
    if (r == REASON_NONE) return; /* a RESUME's carrier: its socket went on to the session it resumed */
    if (s->account) {
        auth_release_account(w->auth, s->account, s->id);
        cluster_release_account(w->cluster, s->account, s->id);
    }
    stat_add(&w->stats.disconnects[r], 1);
    /* Ordinary goodbyes log at debug; anything the server decided logs at info, once. The peer is
     * formatted only for a line that will be written. */
    log_level_t level = r == REASON_CLIENT_CLOSE || r == REASON_LOGOUT ? LOG_DEBUG : LOG_INFO;
    if (log_enabled(level)) {
        char peer[SOCK_IP_STR_MAX];
        log_emit(level, "disconnect",
                 "session=%u peer=%s reason=%s close=%s bytes_in=%llu bytes_out=%llu age_ms=%llu", s->id,
                 sock_ip_str(&s->peer, peer, sizeof peer), reason_name(r), s->abortive ? "rst" : "fin",
                 (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out,
                 (unsigned long long)(worker_now_ms(w) - s->opened_ms));
    }
    if (s->in_game) game_link_post(w->game, w->index, s->id, GAME_IN_LEAVE, 0, NULL, 0);
    if (s->admitted && guard_release(w->guard, &s->peer, r, worker_now_ms(w))) {
        cluster_publish_ban(w->cluster, &s->peer, w->cfg->guard.ban_seconds); /* every instance refuses it */
        char ip[SOCK_IP_STR_MAX];
        log_warn("banned", "ip=%s seconds=%u kicks=%u window_s=%u", sock_ip_host_str(&s->peer, ip, sizeof ip),
                 w->cfg->guard.ban_seconds, w->cfg->guard.autoban_kicks, w->cfg->guard.autoban_window_s);
    }
}

/* The connection of a resumable session dropped: its address's admission goes with the socket
 * (a RESUME brings its own); a stopping worker does not wait for anyone to come back. */
static void on_session_detached(void *ctx, session_t *s) {
    worker_t *w = ctx;
    stat_add(&w->stats.sessions_detached, 1);
    if (s->admitted) guard_release(w->guard, &s->peer, REASON_NONE, worker_now_ms(w));
    s->admitted = 0;
    log_debug("detached", "session=%u reason=%s window_ms=%u", s->id, reason_name((reason_t)s->close_reason),
              w->cfg->session.resume_window_ms);
    if (w->stopping) session_end_detached(&w->env, s, REASON_SHUTDOWN);
}

static const session_hooks_t worker_session_hooks = { on_session_output, on_session_ended, on_session_detached };

/* ---- completions ---- */

static void on_accepted(worker_t *w, const io_event_t *ev) {
    if (ev->res < 0) {
        stat_add(&w->stats.accept_errors, 1);
        log_warn("accept_failed", "worker=%u error=%d", w->index, -ev->res);
        return;
    }
    sock_ip_t ip = { 0 };
    if (ev->peer) sock_ip_pack(ev->peer, &ip);
    /* A balancer's connection is admitted for the client its header names, once it has come. */
    proxy_gate_mode_t preamble = proxy_gate_classify(w->cfg, &ip);
    reason_t refused = preamble == PROXY_GATE_EXPECT ? REASON_NONE : guard_admit(w->guard, &ip, worker_now_ms(w));
    session_t *s = NULL;
    if (!refused) {
        if (!atomic_load_explicit(&w->stop_requested, memory_order_relaxed))
            s = session_open(&w->env, ev->accepted_fd, ev->peer, preamble != PROXY_GATE_NONE);
        if (!s && preamble != PROXY_GATE_EXPECT) guard_release(w->guard, &ip, REASON_NONE, worker_now_ms(w)); /* give back the admission */
    }
    if (!s) {
        /* Banned, over its address's limit, full or stopping: RST before any session memory. */
        if (refused) stat_add(&w->stats.disconnects[refused], 1);
        else stat_add(&w->stats.rejected_full, 1);
        char peer[SOCK_IP_STR_MAX];
        log_debug("refused", "peer=%s reason=%s", sock_ip_str(&ip, peer, sizeof peer),
                  refused ? reason_name(refused) : "full");
        sock_set_abortive(ev->accepted_fd);
        sock_close(ev->accepted_fd);
        return;
    }
    s->admitted = preamble != PROXY_GATE_EXPECT;
    s->preamble = (uint8_t)preamble;
    stat_add(&w->stats.accepted, 1);
    stat_add(&w->stats.sessions_active, 1);
    if (w->cfg->socket.nodelay) sock_set_nodelay(s->io.fd, true);
    int rc = io_recv_start(w->loop, &s->io);
    if (rc < 0) session_abort(&w->env, s, REASON_IO_ERROR);
}

typedef struct feed_ctx {
    worker_t *w;
    session_t *s;
} feed_ctx_t;

static int on_frame(void *ctx, const frame_t *f) {
    feed_ctx_t *fc = ctx;
    stat_add(&fc->w->stats.frames_in, 1);
    if (!token_bucket_take(&fc->s->packets, &fc->w->packet_rate, worker_now_ms(fc->w), 1)) {
        session_abort(&fc->w->env, fc->s, REASON_FLOOD);
        return 1;
    }
    return dispatch_frame(&fc->w->dispatch, fc->s, f);
}

/* Client bytes for the frame reader. 0 to go on, non-zero once the session is closing. */
static int feed_stream(worker_t *w, session_t *s, const uint8_t *data, size_t len) {
    if (!session_takes_input(s)) return 1; /* told to go: input is read (to see the FIN) and dropped */
    s->last_recv_ms = worker_now_ms(w);
    if (!token_bucket_take(&s->bytes, &w->byte_rate, s->last_recv_ms, (uint32_t)len)) {
        session_abort(&w->env, s, REASON_FLOOD);
        return 1;
    }
    feed_ctx_t fc = { w, s };
    int rc = frame_reader_feed(&s->reader, &w->frame_bufs, w->cfg->session.max_frame_bytes, data, len, on_frame, &fc);
    if (rc == FRAME_EBADLEN) session_abort(&w->env, s, REASON_BAD_FRAME);
    else if (rc == 0) session_track_partial(&w->env, s);
    return rc != 0 || !session_takes_input(s);
}

/* The first bytes behind listen.proxy_protocol: a balancer's header, or a direct client's own. */
static void on_preamble_bytes(worker_t *w, session_t *s, const uint8_t *data, size_t len) {
    uint8_t scratch[PROXY_GATE_BUFFER_BYTES];
    proxy_gate_result_t r;
    if (!proxy_gate_feed(s, &w->frame_bufs, w->cfg, data, len, scratch, &r)) return;
    if (r.refused) {
        session_abort(&w->env, s, r.refused);
        return;
    }
    if (!s->admitted) {
        /* From here on the session is the client's: every guard, ban, log line and listing. */
        if (r.has_client) s->peer = r.client;
        reason_t refused = guard_admit(w->guard, &s->peer, worker_now_ms(w));
        if (refused) {
            session_abort(&w->env, s, refused);
            return;
        }
        s->admitted = 1;
    }
    session_to_open(&w->env, s);
    if (r.rest_len && feed_stream(w, s, r.rest, r.rest_len)) return;
    if (r.more_len) feed_stream(w, s, r.more, r.more_len);
}

static void on_received(worker_t *w, session_t *s, const io_event_t *ev) {
    if (ev->res == 0) {
        /* The client closed first: we close after it (no TIME_WAIT here), at once or as soon as
         * the replies it is owed have gone (no CLOSE_WAIT either). */
        session_peer_closed(&w->env, s);
        return;
    }
    if (ev->res < 0) {
        session_abort(&w->env, s, REASON_IO_ERROR);
        return;
    }
    s->bytes_in += (uint64_t)ev->res;
    stat_add(&w->stats.bytes_in, (uint64_t)ev->res);
    if (s->state == SESSION_PREAMBLE) on_preamble_bytes(w, s, ev->data, (size_t)ev->res);
    else feed_stream(w, s, ev->data, (size_t)ev->res);
}

static void on_sent(worker_t *w, session_t *s, const io_event_t *ev) {
    if (ev->res < 0) {
        session_abort(&w->env, s, REASON_IO_ERROR);
        return;
    }
    if (s->resume) replay_consume(&s->resume->replay, &s->sendq, &w->send_chunks, (uint32_t)ev->res);
    else sendq_consume(&s->sendq, &w->send_chunks, (uint32_t)ev->res);
    s->bytes_out += (uint64_t)ev->res;
    stat_add(&w->stats.bytes_out, (uint64_t)ev->res);
    if (s->sendq.bytes) on_session_output(w, s);
    else session_on_sent(&w->env, s);
}

/* ---- commands from other threads ---- */

void worker_wake(void *worker) {
    io_loop_t *loop = atomic_load(&((worker_t *)worker)->wake_loop);
    if (loop) io_wake(loop);
}

int worker_post(worker_t *w, const worker_cmd_t *cmd) {
    int rc = mpsc_push(w->commands, cmd);
    if (rc < 0) return rc;
    worker_wake(w);
    return 0;
}

typedef struct ip_abort {
    worker_t *w;
    const worker_cmd_t *cmd;
} ip_abort_t;

static void abort_if_from(void *ctx, session_t *s) {
    ip_abort_t *a = ctx;
    if (session_is_live(s) && guard_same_group(a->w->guard, &s->peer, &a->cmd->ip))
        session_abort(&a->w->env, s, (reason_t)a->cmd->reason);
}

static void describe_session(void *ctx, session_t *s) {
    worker_t *w = ctx;
    session_record_list_t *list = &((worker_snapshot_t *)w->snapshot)->parts[w->index];
    if (list->n == list->cap) {
        list->cap = list->cap ? list->cap * 2 : WORKER_LISTING_FIRST_CAP;
        list->v = gs_realloc(list->v, list->cap * sizeof *list->v);
    }
    session_describe(&w->env, s, &list->v[list->n++]);
}

/* A burst of 0 means one second's worth; a byte burst below one receive buffer would refuse
 * every full read, whatever the rate. */
static token_bucket_rate_t rate_of(uint32_t per_sec, uint32_t burst, uint32_t floor) {
    uint32_t b = burst ? burst : per_sec;
    return (token_bucket_rate_t){ per_sec, per_sec && b < floor ? floor : b };
}

/* Every reader of w->cfg is this thread, so taking a config is the swap and what derives from it. */
static void take_config(worker_t *w, const cfg_t *c) {
    w->cfg = c;
    w->env.cfg = c;
    w->packet_rate = rate_of(c->guard.max_packets_per_sec, c->guard.packets_burst, 1);
    w->byte_rate = rate_of(c->guard.max_bytes_per_sec, c->guard.bytes_burst, c->io.recv_buffer_bytes);
}

/* A kick by command: a detached session has no one to tell and just ends. */
static void kick_with_notice(worker_t *w, session_t *s, reason_t why) {
    static const char kicked[] = "kicked by the server", elsewhere[] = "logged in elsewhere";
    if (s->state == SESSION_DETACHED) session_end_detached(&w->env, s, why);
    else if (why == REASON_LOGGED_IN_ELSEWHERE) session_kick(&w->env, s, why, elsewhere, sizeof elsewhere - 1);
    else session_kick(&w->env, s, why, kicked, sizeof kicked - 1);
}

/* A RESUME refused: the connection becomes a session of this worker only to be told why (or
 * reset, for a wrong token: someone guessing at sessions), so it is counted and logged like any. */
static void refuse_resume(worker_t *w, worker_resume_t *r, reason_t why) {
    session_t *s = session_open(&w->env, r->fd, NULL, false);
    if (!s) {
        if (r->admitted) guard_release(w->guard, &r->peer, REASON_NONE, worker_now_ms(w));
        sock_set_abortive(r->fd);
        sock_close(r->fd);
        stat_add(&w->stats.rejected_full, 1);
        return;
    }
    s->peer = r->peer;
    s->admitted = r->admitted;
    stat_add(&w->stats.sessions_active, 1);
    if (why == REASON_BAD_TICKET || why == REASON_BAD_PAYLOAD || io_recv_start(w->loop, &s->io) < 0) {
        session_abort(&w->env, s, why == REASON_RESUME_REFUSED ? REASON_IO_ERROR : why);
        return;
    }
    static const char text[] = "session gone: log in again";
    session_kick(&w->env, s, why, text, sizeof text - 1);
}

static void take_resume(worker_t *w, uint32_t id, worker_resume_t *r) {
    session_t *s = session_table_find(&w->sessions, id);
    reason_t why = REASON_NONE;
    if (!s || !s->resume) why = REASON_RESUME_REFUSED;
    else if (!auth_token_equal(s->resume->token, r->token, sizeof r->token)) why = REASON_BAD_TICKET;
    else {
        int rc = session_resume(&w->env, s, r->fd, &r->peer, r->admitted, r->received);
        why = rc == 0 ? REASON_NONE : rc == -ERANGE ? REASON_BAD_PAYLOAD : REASON_RESUME_REFUSED;
    }
    if (why == REASON_NONE) {
        stat_add(&w->stats.sessions_resumed, 1);
        char peer[SOCK_IP_STR_MAX];
        log_info("resumed", "session=%u peer=%s received=%llu", id, sock_ip_str(&r->peer, peer, sizeof peer),
                 (unsigned long long)r->received);
    } else {
        refuse_resume(w, r, why);
    }
    gs_free(r);
}

static void run_commands(worker_t *w) {
    worker_cmd_t cmd;
    while (mpsc_pop(w->commands, &cmd)) {
        if (cmd.kind == WORKER_CMD_SNAPSHOT) {
            w->snapshot = cmd.ptr;
            session_table_each(&w->sessions, describe_session, w);
            w->snapshot = NULL;
            atomic_fetch_sub(&((worker_snapshot_t *)cmd.ptr)->pending, 1);
            continue;
        }
        if (cmd.kind == WORKER_CMD_RELOAD) {
            const cfg_t *c = ((worker_reload_t *)cmd.ptr)->cfg;
            int buffers_changed = c->socket.sndbuf != w->cfg->socket.sndbuf || c->socket.rcvbuf != w->cfg->socket.rcvbuf;
            take_config(w, c);
            if (buffers_changed && w->listener.fd != SOCK_INVALID) sock_set_buffers(w->listener.fd, c->socket.sndbuf, c->socket.rcvbuf);
            atomic_fetch_sub(&((worker_reload_t *)cmd.ptr)->pending, 1);
            continue;
        }
        if (cmd.kind == WORKER_CMD_ABORT_IP) {
            ip_abort_t a = { w, &cmd };
            session_table_each(&w->sessions, abort_if_from, &a);
            continue;
        }
        if (cmd.kind == WORKER_CMD_RESUME) {
            take_resume(w, cmd.session_id, cmd.ptr);
            continue;
        }
        session_t *s = session_table_find(&w->sessions, cmd.session_id);
        if (!s) continue; /* ended meanwhile, or a stale id: the generation says so */
        if (cmd.kind == WORKER_CMD_KICK) kick_with_notice(w, s, (reason_t)cmd.reason);
        else if (s->state == SESSION_DETACHED) session_end_detached(&w->env, s, (reason_t)cmd.reason);
        else session_abort(&w->env, s, (reason_t)cmd.reason);
    }
}

/* What the logic thread sent during its last tick: frames are queued for this turn's flush, so
 * all of a session's frames of one tick leave in one send. */
static void apply_game_record(void *ctx, const game_record_t *r) {
    worker_t *w = ctx;
    session_t *s = session_table_find(&w->sessions, r->session);
    /* Ended, or leaving: the game's word comes too late. A detached session keeps its frames for
     * the replay, and a kick ends it. */
    if (!s || !(session_takes_input(s) || s->state == SESSION_DETACHED)) return;
    if (r->kind == GAME_OUT_FRAME) session_send(&w->env, s, r->op, r->data, r->len);
    else if (s->state == SESSION_DETACHED) session_end_detached(&w->env, s, (reason_t)r->op);
    else if (r->kind == GAME_OUT_KICK) session_kick(&w->env, s, (reason_t)r->op, (const char *)r->data, r->len);
    else session_abort(&w->env, s, (reason_t)r->op);
}

static void on_event(void *ctx, const io_event_t *ev) {
    worker_t *w = ctx;
    switch (ev->kind) {
    case IO_ACCEPTED:
        on_accepted(w, ev);
        break;
    case IO_RECEIVED:
        on_received(w, session_of(ev->handle), ev);
        break;
    case IO_SENT:
        on_sent(w, session_of(ev->handle), ev);
        break;
    case IO_CLOSED:
        if (ev->handle != &w->listener) session_to_free(&w->env, session_of(ev->handle));
        break;
    case IO_WOKEN:
        run_commands(w);
        break; /* the loop re-checks its stop flag after every turn */
    }
}

/* One send per session per loop turn, of everything queued by then: replies to all frames of
 * one read leave together. */
static void flush_dirty(worker_t *w) {
    for (uint32_t i = 0; i < w->dirty_count; i++) {
        session_t *s = &w->sessions.slots[w->dirty[i]];
        s->dirty = 0;
        if (!session_is_live(s) || io_send_busy(&s->io)) continue;
        uint32_t len = 0;
        const uint8_t *p = sendq_peek(&s->sendq, &len);
        if (!p) continue;
        stat_add(&w->stats.send_calls, 1);
        if (io_send(w->loop, &s->io, p, len) < 0) session_abort(&w->env, s, REASON_IO_ERROR);
    }
    w->dirty_count = 0;
}

/* ---- the dispatch layer's hooks ---- */

static worker_t *owner_of(worker_t *w, uint32_t session_id) {
    uint32_t i = session_split_owner(&w->split, session_id);
    return i == UINT32_MAX ? NULL : &w->peers[i];
}

static void evict_session(void *ctx, uint32_t session_id) {
    worker_t *w = ctx, *owner = owner_of(w, session_id);
    if (owner == w) {
        session_t *s = session_table_find(&w->sessions, session_id);
        if (s) kick_with_notice(w, s, REASON_LOGGED_IN_ELSEWHERE);
        return;
    }
    worker_cmd_t cmd = { .kind = WORKER_CMD_KICK, .reason = REASON_LOGGED_IN_ELSEWHERE, .session_id = session_id };
    if (!owner || worker_post(owner, &cmd) < 0) log_warn("evict_failed", "session=%u", session_id);
}

/* The carrier's socket goes to the session's owner (maybe this worker: the same path, so one
 * order of events) as a descriptor of its own; the carrier's is released, and its admission
 * travels with the socket. */
static void hand_over_resume(void *ctx, session_t *carrier, uint32_t session_id, const uint8_t *token, uint64_t received) {
    worker_t *w = ctx, *owner = owner_of(w, session_id);
    sock_t fd = SOCK_INVALID;
    if (!owner || sock_dup(carrier->io.fd, &fd) < 0) {
        session_abort(&w->env, carrier, owner ? REASON_IO_ERROR : REASON_BAD_PAYLOAD);
        return;
    }
    if (owner != w && !w->backend->handover_any_loop) {
        /* IOCP: the socket cannot move to the owner's port (docs/windows.md). */
        static const char text[] = "resume on this connection is not possible: log in again";
        sock_close(fd);
        session_kick(&w->env, carrier, REASON_RESUME_REFUSED, text, sizeof text - 1);
        return;
    }
    worker_resume_t *r = gs_malloc(sizeof *r);
    memcpy(r->token, token, sizeof r->token);
    r->received = received;
    r->fd = fd;
    r->peer = carrier->peer;
    r->admitted = carrier->admitted;
    worker_cmd_t cmd = { .kind = WORKER_CMD_RESUME, .session_id = session_id, .ptr = r };
    if (worker_post(owner, &cmd) < 0) {
        gs_free(r);
        sock_close(fd);
        session_abort(&w->env, carrier, REASON_IO_ERROR);
        return;
    }
    carrier->admitted = 0;
    session_to_closing(&w->env, carrier, REASON_NONE, IO_CLOSE_RELEASE);
}

static const dispatch_hooks_t worker_dispatch_hooks = { evict_session, hand_over_resume };

/* ---- life ---- */

int worker_init(worker_t *w, const cfg_t *cfg, uint32_t index, const io_backend_ops_t *backend,
                guard_t *guard, sock_t listen_fd, uint32_t slot_base, uint32_t slots) {
    memset(w, 0, sizeof *w);
    w->index = index;
    w->guard = guard;
    w->backend = backend;
    w->listen_fd = listen_fd;
    atomic_init(&w->stop_requested, false);
    atomic_init(&w->wake_loop, NULL);
    session_table_init(&w->sessions, slot_base, slots);
    w->clock = (loop_clock_t){ .read_us = os_now_us };
    timer_wheel_init(&w->timers, os_now_us() / 1000u, WORKER_TICK_MS, WORKER_WHEEL_SLOTS);
    sendq_pool_init(&w->send_chunks, cfg->session.send_chunk_bytes);
    /* Behind a balancer the same buffers also hold a PROXY header cut across reads. */
    size_t frame_buf = cfg->session.max_frame_bytes;
    if (cfg->listen.proxy_protocol != CFG_PROXY_OFF && frame_buf < PROXY_GATE_BUFFER_BYTES) frame_buf = PROXY_GATE_BUFFER_BYTES;
    pool_init(&w->frame_bufs, frame_buf, WORKER_FRAME_BUFS_PER_SLAB);
    w->dirty = gs_malloc(slots * sizeof *w->dirty);
    w->env = (session_env_t){ .timers = &w->timers, .send_chunks = &w->send_chunks, .frame_bufs = &w->frame_bufs,
                              .clock = &w->clock, .packet_rate = &w->packet_rate, .byte_rate = &w->byte_rate,
                              .table = &w->sessions, .hooks = &worker_session_hooks, .hooks_ctx = w };
    w->dispatch = (dispatch_env_t){ .sessions = &w->env, .lane = index, .hooks = &worker_dispatch_hooks, .hooks_ctx = w };
    w->peers = w;
    w->split = session_split_make(slots, 1);
    take_config(w, cfg);
    return mpsc_init(&w->commands, cfg->io.command_queue, sizeof(worker_cmd_t));
}

void worker_attach_peers(worker_t *w, worker_t *peers, session_split_t split, auth_t *auth, cluster_t *cluster) {
    w->peers = peers;
    w->split = split;
    w->auth = auth;
    w->cluster = cluster;
    w->dispatch.auth = auth;
    w->dispatch.cluster = cluster;
}

void worker_attach_game(worker_t *w, game_link_t *game) {
    w->game = game;
    w->dispatch.game = game;
}

static void on_deadline(void *ctx, timer_node_t *t) {
    worker_t *w = ctx;
    session_on_deadline(&w->env, (session_t *)((char *)t - offsetof(session_t, timer)));
}

/* Every frame already received has been answered into the queue; the KICK goes after it. */
static void kick_for_shutdown(void *ctx, session_t *s) {
    static const char text[] = "server shutting down";
    /* Not a session yet (its preamble is still coming), or its connection gone: no one to tell. */
    if (s->state == SESSION_PREAMBLE) session_abort(&((worker_t *)ctx)->env, s, REASON_SHUTDOWN);
    else if (s->state == SESSION_DETACHED) session_end_detached(&((worker_t *)ctx)->env, s, REASON_SHUTDOWN);
    else session_kick(&((worker_t *)ctx)->env, s, REASON_SHUTDOWN, text, sizeof text - 1);
}

int worker_open(worker_t *w) {
    io_loop_config_t lc = {
        .recv_buffer_bytes = w->cfg->io.recv_buffer_bytes,
        .recv_buffers = w->cfg->io.recv_buffers,
        .max_events = w->cfg->io.max_events,
        .max_handles = w->sessions.count + 1,
    };
    int rc = w->backend->loop_open(&w->loop, &lc, on_event, w);
    if (rc < 0) return rc;
    w->env.loop = w->loop;
    io_attach(w->loop, &w->listener, w->listen_fd, SESSION_ID_NONE);
    w->listen_fd = SOCK_INVALID; /* the listener handle owns it now */
    if ((rc = io_accept_start(w->loop, &w->listener)) < 0) return rc;
    log_info("worker_started", "worker=%u slots=%u io=\"%s\"", w->index, w->sessions.count, io_describe(w->loop));
    /* Published after the loop exists, and the stop flag read after publishing (worker_turn): a
     * stop request that saw no loop to wake is seen there instead (both sides seq_cst). */
    atomic_store(&w->wake_loop, w->loop);
    return 0;
}

int worker_turn(worker_t *w, int max_wait_ms) {
    if (!w->stopping && atomic_load(&w->stop_requested)) {
        /* No new connections; every session is told (KICK), gets its notice delivered and
         * close_grace_ms to close first, then RST: nothing owed is lost, no TIME_WAIT. */
        w->stopping = true;
        io_close(w->loop, &w->listener, IO_CLOSE_NORMAL);
        session_table_each(&w->sessions, kick_for_shutdown, w);
        flush_dirty(w);
    }
    if (w->stopping && w->sessions.active == 0 && w->listener.state == IO_HANDLE_CLOSED) return 1;
    loop_clock_stale(&w->clock);
    int timeout = timer_wheel_timeout_ms(&w->timers, worker_now_ms(w));
    if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms)) timeout = max_wait_ms;
    loop_clock_stale(&w->clock); /* events after the wait read the clock afresh */
    int rc = io_run_once(w->loop, timeout);
    loop_clock_stale(&w->clock);
    timer_wheel_advance(&w->timers, worker_now_ms(w), on_deadline, w);
    if (w->game) game_link_drain(w->game, w->index, apply_game_record, w);
    if (rc < 0) return rc;
    flush_dirty(w);
    return 0;
}

static void worker_fail(worker_t *w, const char *event, int rc) {
    log_error(event, "worker=%u backend=%s error=\"%s\"", w->index, w->backend->name, strerror(-rc));
    w->exit_status = rc;
    if (w->on_fatal) w->on_fatal(w->on_fatal_ctx);
}

void worker_run(void *arg) {
    worker_t *w = arg;
    int rc = worker_open(w);
    if (rc < 0) return worker_fail(w, "worker_failed", rc);
    while ((rc = worker_turn(w, -1)) == 0) {}
    if (rc < 0) worker_fail(w, "loop_failed", rc);
}

void worker_request_stop(worker_t *w) {
    atomic_store(&w->stop_requested, true);
    worker_wake(w);
}

void worker_destroy(worker_t *w) {
    if (w->loop) io_loop_close(w->loop);
    if (w->listen_fd != SOCK_INVALID) sock_close(w->listen_fd); /* the loop never took it */
    timer_wheel_destroy(&w->timers); /* first: it disarms nodes that live in the session slots */
    session_table_destroy(&w->sessions);
    pool_destroy(&w->send_chunks);
    pool_destroy(&w->frame_bufs);
    gs_free(w->dirty);
    mpsc_destroy(w->commands);
    memset(w, 0, sizeof *w);
}

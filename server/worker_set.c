/* The workers as one thing: see worker_set.h. */
#include "worker_set.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

int worker_set_init(worker_set_t *ws, const cfg_t *cfg, const io_backend_ops_t *backend, guard_t *guard,
                    auth_t *auth, cluster_t *cluster, const sock_t *listen_fds, uint32_t count) {
    ws->count = count;
    ws->split = session_split_make(cfg->session.max_sessions, count);
    ws->workers = gs_calloc(count, sizeof *ws->workers);
    int rc = 0;
    for (uint32_t i = 0; i < count; i++) {
        int r = worker_init(&ws->workers[i], cfg, i, backend, guard, listen_fds[i], session_split_base(&ws->split, i),
                            session_split_count(&ws->split, i));
        if (r < 0 && rc == 0) rc = r;
        worker_attach_peers(&ws->workers[i], ws->workers, ws->split, auth, cluster);
    }
    return rc;
}

void worker_set_attach_game(worker_set_t *ws, game_link_t *link) {
    for (uint32_t i = 0; i < ws->count; i++) {
        worker_attach_game(&ws->workers[i], link);
        game_link_set_waker(link, i, worker_wake, &ws->workers[i]);
    }
}

int worker_set_start(worker_set_t *ws, void (*on_fatal)(void *ctx), void *ctx, char *err, size_t err_len) {
    for (uint32_t i = 0; i < ws->count; i++) {
        worker_t *w = &ws->workers[i];
        w->on_fatal = on_fatal;
        w->on_fatal_ctx = ctx;
        char name[24];
        snprintf(name, sizeof name, "gskel-w%u", i);
        int rc = os_thread_start(&w->thread, name, worker_run, w);
        if (rc < 0) {
            snprintf(err, err_len, "cannot start worker thread: %s", strerror(-rc));
            return rc;
        }
    }
    return 0;
}

void worker_set_request_stop(worker_set_t *ws) {
    for (uint32_t i = 0; i < ws->count; i++) worker_request_stop(&ws->workers[i]);
}

int worker_set_wait(worker_set_t *ws) {
    int status = 0;
    for (uint32_t i = 0; i < ws->count; i++) {
        worker_t *w = &ws->workers[i];
        if (!w->thread) continue;
        os_thread_join(w->thread);
        w->thread = NULL;
        if (w->exit_status < 0) status = w->exit_status;
    }
    return status;
}

void worker_set_destroy(worker_set_t *ws) {
    for (uint32_t i = 0; i < ws->count; i++) worker_destroy(&ws->workers[i]);
    gs_free(ws->workers);
    memset(ws, 0, sizeof *ws);
}

worker_t *worker_set_owner(worker_set_t *ws, uint32_t session_id) {
    uint32_t i = session_split_owner(&ws->split, session_id);
    return i < ws->count ? &ws->workers[i] : NULL;
}

uint32_t worker_set_post_all(worker_set_t *ws, const worker_cmd_t *cmd) {
    uint32_t refused = 0;
    for (uint32_t i = 0; i < ws->count; i++)
        if (worker_post(&ws->workers[i], cmd) < 0) refused++;
    return refused;
}

/* Waits until *pending reaches 0, bounded: a worker answers within a loop turn. */
static int wait_answers(_Atomic uint32_t *pending) {
    for (uint32_t waited = 0; atomic_load(pending) && waited < WORKER_SET_ANSWER_MS; waited += WORKER_SET_POLL_MS)
        os_sleep_ms(WORKER_SET_POLL_MS);
    return atomic_load(pending) ? -ETIMEDOUT : 0;
}

int worker_set_list_sessions(worker_set_t *ws, session_record_list_t *out) {
    worker_snapshot_t *snap = gs_calloc(1, sizeof *snap);
    snap->parts = gs_calloc(ws->count, sizeof *snap->parts);
    atomic_init(&snap->pending, ws->count);
    worker_cmd_t cmd = { .kind = WORKER_CMD_SNAPSHOT, .ptr = snap };
    uint32_t refused = worker_set_post_all(ws, &cmd);
    atomic_fetch_sub(&snap->pending, refused);
    /* A late worker may still write into the snapshot: it is left allocated then (rare, bounded). */
    if (wait_answers(&snap->pending) < 0) return -ETIMEDOUT;
    for (uint32_t i = 0; i < ws->count; i++) {
        session_record_list_t *part = &snap->parts[i];
        if (!refused && part->n) {
            if (out->n + part->n > out->cap) {
                out->cap = out->n + part->n;
                out->v = gs_realloc(out->v, out->cap * sizeof *out->v);
            }
            memcpy(out->v + out->n, part->v, part->n * sizeof *part->v);
            out->n += part->n;
        }
        gs_free(part->v);
    }
    gs_free(snap->parts);
    gs_free(snap);
    return refused ? -EAGAIN : 0;
}

/* A full queue drains within a loop turn: the post is retried, bounded. */
#define WORKER_SET_POST_TRIES 1000u

int worker_set_reload(worker_set_t *ws, const cfg_t *cfg) {
    /* On the heap: a worker that stalls past the wait still writes to it later. */
    worker_reload_t *r = gs_malloc(sizeof *r);
    r->cfg = cfg;
    atomic_init(&r->pending, ws->count);
    worker_cmd_t cmd = { .kind = WORKER_CMD_RELOAD, .ptr = r };
    for (uint32_t i = 0; i < ws->count; i++)
        for (uint32_t tries = 0; worker_post(&ws->workers[i], &cmd) < 0 && tries < WORKER_SET_POST_TRIES; tries++)
            os_sleep_ms(WORKER_SET_POLL_MS);
    int rc = wait_answers(&r->pending);
    if (rc == 0) gs_free(r);
    return rc;
}

void worker_set_stats(const worker_set_t *ws, worker_stats_t *out) {
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i < ws->count; i++) {
        const worker_stats_t *s = &ws->workers[i].stats;
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
        stat_add(&out->sessions_detached, stat_read(&s->sessions_detached));
        stat_add(&out->sessions_resumed, stat_read(&s->sessions_resumed));
    }
}

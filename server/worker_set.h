/* worker_set: the server's workers as one thing. Owns their creation over the split session id
 * space, their threads, and everything asked of "the workers" from other threads: the owner of a
 * session id, a command to all of them, a listing of every session, a config for every one, their
 * summed counters. Callers never index the workers themselves. */
#ifndef GSKEL_WORKER_SET_H
#define GSKEL_WORKER_SET_H

#include <stdint.h>

#include "worker.h"

typedef struct worker_set {
    worker_t *workers;
    uint32_t count;
    session_split_t split;
} worker_set_t;

/* count workers over cfg's session table, each adopting listen_fds[i]. */
int worker_set_init(worker_set_t *ws, const cfg_t *cfg, const io_backend_ops_t *backend, guard_t *guard,
                    auth_t *auth, cluster_t *cluster, const sock_t *listen_fds, uint32_t count);
/* Before the threads run: every worker's lane of the game link, and the link's wakers. */
void worker_set_attach_game(worker_set_t *ws, game_link_t *link);
/* Starts one thread per worker; on_fatal(ctx) runs on a worker's thread if its loop fails. */
int worker_set_start(worker_set_t *ws, void (*on_fatal)(void *ctx), void *ctx, char *err, size_t err_len);
/* Async-signal-safe. */
void worker_set_request_stop(worker_set_t *ws);
/* Joins the threads; 0 when every worker ended cleanly, else a worker's -errno. */
int worker_set_wait(worker_set_t *ws);
void worker_set_destroy(worker_set_t *ws);

/* The worker that owns a session id, or NULL if the id is outside every worker's range. */
worker_t *worker_set_owner(worker_set_t *ws, uint32_t session_id);
/* Posts cmd to every worker; returns how many could not take it (queue full). */
uint32_t worker_set_post_all(worker_set_t *ws, const worker_cmd_t *cmd);
/* Every live session, appended to out by the workers; -ETIMEDOUT if one did not answer within
 * WORKER_SET_ANSWER_MS (out is then left to it: leaked, rarely), -EAGAIN if a queue was full. */
int worker_set_list_sessions(worker_set_t *ws, session_record_list_t *out);
/* Every worker takes cfg on its own thread; 0 once all hold it, -ETIMEDOUT if one did not answer
 * within WORKER_SET_ANSWER_MS (it still takes it when it wakes). */
int worker_set_reload(worker_set_t *ws, const cfg_t *cfg);
/* Sums every worker's counters (any thread: each counter has one writer). */
void worker_set_stats(const worker_set_t *ws, worker_stats_t *out);

/* How long a caller waits for every worker to answer a command, and how often it looks. */
#define WORKER_SET_ANSWER_MS 5000u
#define WORKER_SET_POLL_MS 1u

#endif

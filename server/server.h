/* server: the process-level lifecycle. Picks the backend, opens one listener per worker
 * (SO_REUSEPORT), starts the worker threads, stops them on request and collects their counters.
 * Logs the start-up facts an operator needs once: backend and why, allocator, effective buffer
 * sizes, the bound port. */
#ifndef GSKEL_SERVER_H
#define GSKEL_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "guard.h"
#include "io.h"
#include "worker.h"

struct admin;

typedef struct server {
    cfg_t cfg;               /* as started; what cannot change without a restart is read here */
    const cfg_t *live;       /* the config in force: &cfg, or the latest SIGHUP reload */
    uint32_t sndbuf_effective, rcvbuf_effective; /* what the kernel made of socket.* */
    struct admin *admin;
    struct game *logic;
    const io_backend_ops_t *backend;
    uint32_t worker_count;
    worker_t *workers;
    guard_t *guard;
    uint16_t port; /* bound port (listen.port 0 picks one) */
    atomic_bool stopping;
} server_t;

/* Errors: -ENOENT/-EPERM/... with a one-line reason in err. A backend that was asked for by name
 * and cannot run is reported as such (the CLI exits 2 for it). */
int server_start(server_t *srv, const cfg_t *cfg, char *err, size_t err_len);
/* Async-signal-safe. */
void server_request_stop(server_t *srv);
/* Whether a stop was requested (a signal, or a worker that failed). */
bool server_stopping(const server_t *srv);

/* The worker that owns a session id, or NULL if the id is outside every worker's range. */
worker_t *server_worker_of(server_t *srv, uint32_t session_id);
/* Posts cmd to every worker; returns how many could not take it (queue full). */
uint32_t server_post_all(server_t *srv, const worker_cmd_t *cmd);

/* SIGHUP: applies the live keys of `loaded` (file + command-line flags), logs what changed and
 * what needs a restart. -EINVAL with err if the result is inconsistent; nothing changes then. */
int server_reload(server_t *srv, const cfg_t *loaded, char *err, size_t err_len);
/* Joins the workers; returns 0 when every worker ended cleanly. */
int server_wait(server_t *srv);
void server_destroy(server_t *srv);
/* Sums every worker's counters; call after server_wait (live reads come with the admin endpoint). */
void server_stats(const server_t *srv, worker_stats_t *out);

#endif

/* server: the process-level lifecycle, the top of the layers. Picks the backend, opens one
 * listener per worker (SO_REUSEPORT), creates the game link and the logic thread, registers the
 * game's ops with dispatch, starts the workers (worker_set), gives the admin endpoint its narrow
 * environment, stops everything on request and collects the counters. Logs the start-up facts an
 * operator needs once: backend and why, allocator, effective buffer sizes, the bound port. */
#ifndef GSKEL_SERVER_H
#define GSKEL_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "admin.h"
#include "config.h"
#include "game_link.h"
#include "auth.h"
#include "cluster.h"
#include "guard.h"
#include "io.h"
#include "logic.h"
#include "worker_set.h"

typedef struct server {
    cfg_t cfg;               /* as started; what cannot change without a restart is read here */
    const cfg_t *live;       /* the config in force: &cfg, or the latest SIGHUP reload */
    uint32_t sndbuf_effective, rcvbuf_effective; /* what the kernel made of socket.* */
    admin_t *admin;
    logic_t *logic;          /* NULL when no game module is compiled in */
    game_link_t *game;       /* the workers' lanes to it (NULL with it) */
    const io_backend_ops_t *backend;
    worker_set_t workers;
    guard_t *guard;
    auth_t *auth;            /* handed in by server_start's caller, which keeps it */
    cluster_t *cluster;      /* NULL unless cluster.redis.address is set */
    bool config_error;       /* server_start failed on the config (exit 2), not at run time */
    uint16_t port; /* bound port (listen.port 0 picks one) */
    atomic_bool stopping;
    atomic_bool draining;    /* a stop was signalled; the stop itself follows listen.drain_ms later */
} server_t;

/* Errors: -ENOENT/-EPERM/... with a one-line reason in err. A backend that was asked for by name
 * and cannot run is reported as such (the CLI exits 2 for it). */
int server_start(server_t *srv, const cfg_t *cfg, auth_t *auth, char *err, size_t err_len);
/* Async-signal-safe. */
void server_request_stop(server_t *srv);
/* Whether a stop was requested (a signal, or a worker that failed). */
bool server_stopping(const server_t *srv);
/* Async-signal-safe: from now on /health says 503; the caller requests the stop after
 * listen.drain_ms, while the listener still accepts (balancers move new players first). */
void server_begin_drain(server_t *srv);
bool server_draining(const server_t *srv);

/* SIGHUP: applies the live keys of `loaded` (file + command-line flags), logs what changed and
 * what needs a restart. -EINVAL with err if the result is inconsistent; nothing changes then. */
int server_reload(server_t *srv, const cfg_t *loaded, char *err, size_t err_len);
/* Joins the workers; returns 0 when every worker ended cleanly. */
int server_wait(server_t *srv);
void server_destroy(server_t *srv);
/* Sums every worker's counters; call after server_wait (live reads come with the admin endpoint). */
void server_stats(const server_t *srv, worker_stats_t *out);

#endif

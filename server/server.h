/* server: the process-level lifecycle. Picks the backend, opens one listener per worker
 * (SO_REUSEPORT), starts the worker threads, stops them on request and collects their counters.
 * Logs the start-up facts an operator needs once: backend and why, allocator, effective buffer
 * sizes, the bound port. */
#ifndef GSKEL_SERVER_H
#define GSKEL_SERVER_H

#include <stdint.h>

#include "config.h"
#include "guard.h"
#include "io.h"
#include "worker.h"

typedef struct server {
    cfg_t cfg;
    const io_backend_ops_t *backend;
    uint32_t worker_count;
    worker_t *workers;
    guard_t *guard;
    uint16_t port; /* bound port (listen.port 0 picks one) */
} server_t;

/* Errors: -ENOENT/-EPERM/... with a one-line reason in err. A backend that was asked for by name
 * and cannot run is reported as such (the CLI exits 2 for it). */
int server_start(server_t *srv, const cfg_t *cfg, char *err, size_t err_len);
/* Async-signal-safe. */
void server_request_stop(server_t *srv);
/* Joins the workers; returns 0 when every worker ended cleanly. */
int server_wait(server_t *srv);
void server_destroy(server_t *srv);
/* Sums every worker's counters; call after server_wait (live reads come with the admin endpoint). */
void server_stats(const server_t *srv, worker_stats_t *out);

#endif

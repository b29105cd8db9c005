/* admin: the operator's HTTP endpoint on admin.host:admin.port (loopback by default; any other
 * address needs admin.token as a bearer token): GET /metrics (Prometheus text), GET /sessions
 * (JSON), POST /kick, POST /ban, GET /health (for balancers: 503 once draining), GET /healthz. It runs on its own thread and its own I/O loop
 * (the server's backend) and knows nothing of the server: what it shows and does comes through
 * the narrow environment below (plain records in, requests out). It follows the game port's
 * closing rule: it answers with `Connection: close` and lets the client close first, so the admin
 * port keeps no TIME_WAIT either. */
#ifndef GSKEL_ADMIN_H
#define GSKEL_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "reason.h"
#include "session.h"
#include "cluster.h"
#include "stats.h"
#include "strbuf.h"

typedef struct admin admin_t;

/* Everything /metrics shows, as plain numbers gathered by the server. */
typedef struct admin_metrics {
    worker_stats_t workers; /* summed over the workers */
    uint32_t worker_count;
    uint32_t sndbuf, rcvbuf; /* effective socket buffers of new connections */
    const char *backend;
    bool has_game;           /* the game fields below are meaningful */
    logic_stats_t game;
    uint64_t game_dropped_in, game_dropped_out;
    bool has_cluster;        /* cluster.redis.address is set: the fields below are meaningful */
    cluster_stats_t cluster;
    uint32_t accounts_online;
} admin_metrics_t;

/* What the endpoint runs on. The callbacks run on the admin thread. */
typedef struct admin_env {
    const char *host;
    uint16_t port;           /* 0: no endpoint */
    const char *token;       /* "" when none is required */
    const io_backend_ops_t *backend;
    void *ctx;
    bool (*stopping)(void *ctx);
    bool (*draining)(void *ctx); /* a stop was signalled: serving on for listen.drain_ms at most */
    void (*metrics)(void *ctx, admin_metrics_t *out);
    /* Every live session; -ETIMEDOUT or -EAGAIN if a worker did not answer. */
    int (*sessions)(void *ctx, session_record_list_t *out);
    /* Queues a kick (abort: RST now); -ENOENT no such session, -EAGAIN its worker's queue is full. */
    int (*kick)(void *ctx, uint32_t session_id, reason_t why, bool abort);
    /* Bans ip for seconds (0 lifts it) and resets what it holds; -ENOSPC address table full. */
    int (*ban)(void *ctx, const sock_ip_t *ip, uint32_t seconds);
} admin_env_t;

/* Binds and starts the admin thread; -errno and a reason in err. env->port 0: *out = NULL, 0.
 * env is copied. */
int admin_start(admin_t **out, const admin_env_t *env, char *err, size_t err_len);
/* Stops the thread (open requests are reset) and frees it. NULL is a no-op. */
void admin_stop(admin_t *a);

/* Prometheus text exposition of the counters. */
void admin_render_metrics(const admin_metrics_t *m, strbuf_t *out);
/* JSON array of the session records. */
void admin_render_sessions(const session_record_list_t *list, strbuf_t *out);

#endif

/* admin: the operator's HTTP endpoint on admin.host:admin.port (loopback by default; any other
 * address needs admin.token as a bearer token): GET /metrics (Prometheus text), GET /sessions
 * (JSON), POST /kick, POST /ban, GET /healthz. It runs on its own thread and its own I/O loop
 * (the server's backend), reaches sessions only through the workers' command queues, and
 * follows the game port's closing rule: it answers with `Connection: close` and lets the
 * client close first, so the admin port keeps no TIME_WAIT either. */
#ifndef GSKEL_ADMIN_H
#define GSKEL_ADMIN_H

#include <stddef.h>

#include "strbuf.h"

struct server;
typedef struct admin admin_t;

/* Binds and starts the admin thread; -errno and a reason in err. admin.port 0: *out = NULL, 0. */
int admin_start(admin_t **out, struct server *srv, char *err, size_t err_len);
/* Stops the thread (open requests are reset) and frees it. NULL is a no-op. */
void admin_stop(admin_t *a);

/* Routing, exposed for the admin thread only: the whole response for one request. */
typedef struct admin_response {
    int status;
    const char *content_type;
    strbuf_t body;
} admin_response_t;

/* Prometheus text exposition of the server's counters. */
void admin_render_metrics(struct server *srv, strbuf_t *out);
/* JSON array of every live session, gathered from the workers; -ETIMEDOUT if one did not answer. */
int admin_render_sessions(struct server *srv, strbuf_t *out);

#endif

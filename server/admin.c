/* The admin endpoint's thread, loop and routes: see admin.h. */
#include "admin.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "http_parse.h"
#include "log.h"
#include "os.h"

/* Operators and scrapers, not players: a handful at a time. */
#define ADMIN_MAX_CONNS 32u
#define ADMIN_TURN_MS 200
#define ADMIN_REQUEST_MS 10000u /* a request's head must arrive within this */
#define ADMIN_CLOSE_MS 5000u    /* then the client has this long to close after the answer */
#define ADMIN_BACKLOG 64
#define ADMIN_RECV_BUFFER_BYTES 4096u /* a request head is at most HTTP_MAX_HEAD: a few reads */
#define ADMIN_RECV_BUFFERS 64u
#define ADMIN_MAX_EVENTS 64u
#define ADMIN_START_POLL_MS 1u  /* how often admin_start looks whether the thread is serving */
#define ADMIN_BAN_MAX_SECONDS 31536000ul /* a year */

/* The whole response for one request. */
typedef struct admin_response {
    int status;
    const char *content_type;
    strbuf_t body;
} admin_response_t;

typedef enum { CONN_FREE, CONN_READING, CONN_WRITING, CONN_WAIT_CLOSE, CONN_CLOSING } conn_state_t;

typedef struct admin_conn {
    io_handle_t io; /* first: completions hand this pointer back */
    conn_state_t state;
    uint64_t deadline_ms;
    size_t in_len, out_sent;
    strbuf_t out;
    char in[HTTP_MAX_HEAD];
} admin_conn_t;

struct admin {
    admin_env_t env;
    io_loop_t *loop;
    io_handle_t listener;
    sock_t listen_fd;
    admin_conn_t *conns;
    os_thread_t *thread;
    atomic_bool stop;
    _Atomic(io_loop_t *) wake_loop;
    int open_status; /* set by the thread before it signals started */
    atomic_int started; /* 0 starting, 1 serving, -1 failed */
};

static uint64_t now_ms(void) { return os_now_us() / 1000u; }

static void conn_abort(admin_t *a, admin_conn_t *c) {
    if (c->state == CONN_CLOSING || c->state == CONN_FREE) return;
    c->state = CONN_CLOSING;
    io_close(a->loop, &c->io, IO_CLOSE_ABORT);
}

static const char *status_text(int status) {
    switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

static void respond(admin_t *a, admin_conn_t *c, admin_response_t *r) {
    sb_printf(&c->out,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", r->status,
              status_text(r->status), r->content_type ? r->content_type : "application/json", r->body.len,
              r->status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
    if (r->body.len) sb_append(&c->out, r->body.data, r->body.len);
    sb_free(&r->body);
    c->state = CONN_WRITING;
    c->out_sent = 0;
    if (io_send(a->loop, &c->io, (const uint8_t *)c->out.data, (uint32_t)c->out.len) < 0) conn_abort(a, c);
}

static void error_body(admin_response_t *r, int status, const char *what) {
    r->status = status;
    r->content_type = "application/json";
    sb_printf(&r->body, "{\"error\":");
    sb_json_string(&r->body, what);
    sb_printf(&r->body, "}\n");
}

/* Constant time in the token's length: the comparison does not say how much of a guess was right. */
static int token_ok(const admin_t *a, const http_request_t *q) {
    const char *token = a->env.token;
    if (!token[0]) return 1;
    size_t n = strlen(token);
    if (!q->authorization || q->authorization_len != n + 7 || strncmp(q->authorization, "Bearer ", 7) != 0) return 0;
    unsigned diff = 0;
    for (size_t i = 0; i < n; i++) diff |= (unsigned)(q->authorization[7 + i] ^ token[i]);
    return diff == 0;
}

static int path_is(const http_request_t *q, const char *p) {
    return q->path_len == strlen(p) && !memcmp(q->path, p, q->path_len);
}

static int reason_by_name(const char *name, reason_t *out) {
    for (int r = 1; r < REASON_COUNT; r++) {
        if (!strcmp(reason_name((reason_t)r), name)) {
            *out = (reason_t)r;
            return 0;
        }
    }
    return -EINVAL;
}

static void route_kick(admin_t *a, const http_request_t *q, admin_response_t *r) {
    char idbuf[16], reason_buf[32], mode[8];
    char *end = NULL;
    if (http_query_get(q->query, q->query_len, "id", idbuf, sizeof idbuf) < 0) return error_body(r, 400, "id is required");
    unsigned long id = strtoul(idbuf, &end, 10);
    reason_t why;
    if (!idbuf[0] || *end || id > UINT32_MAX) return error_body(r, 400, "id must be a session id");
    if (http_query_get(q->query, q->query_len, "reason", reason_buf, sizeof reason_buf) == -ENOENT)
        snprintf(reason_buf, sizeof reason_buf, "kicked");
    if (http_query_get(q->query, q->query_len, "mode", mode, sizeof mode) == -ENOENT) snprintf(mode, sizeof mode, "notice");
    if (reason_by_name(reason_buf, &why) < 0) return error_body(r, 400, "unknown reason");
    if (strcmp(mode, "notice") && strcmp(mode, "abort")) return error_body(r, 400, "mode must be notice or abort");
    int rc = a->env.kick(a->env.ctx, (uint32_t)id, why, !strcmp(mode, "abort"));
    if (rc == -ENOENT) return error_body(r, 404, "no such session");
    if (rc < 0) return error_body(r, 503, "worker queue full");
    r->status = 202; /* the worker decides: a session that already ended is left alone */
    sb_printf(&r->body, "{\"queued\":true,\"id\":%lu,\"reason\":\"%s\",\"mode\":\"%s\"}\n", id, reason_name(why), mode);
}

static void route_ban(admin_t *a, const http_request_t *q, admin_response_t *r) {
    char ipbuf[SOCK_IP_STR_MAX], secbuf[16] = "";
    sock_ip_t ip;
    char *end = NULL;
    if (http_query_get(q->query, q->query_len, "ip", ipbuf, sizeof ipbuf) < 0 || sock_ip_parse(ipbuf, &ip) < 0)
        return error_body(r, 400, "ip must be an IPv4 or IPv6 address");
    if (http_query_get(q->query, q->query_len, "seconds", secbuf, sizeof secbuf) < 0)
        return error_body(r, 400, "seconds is required (0 lifts the ban)");
    unsigned long seconds = strtoul(secbuf, &end, 10);
    if (!secbuf[0] || *end || seconds > ADMIN_BAN_MAX_SECONDS) return error_body(r, 400, "seconds must be 0..31536000");
    if (a->env.ban(a->env.ctx, &ip, (uint32_t)seconds) < 0) return error_body(r, 503, "address table full");
    log_info("admin_ban", "ip=%s seconds=%lu", ipbuf, seconds);
    r->status = 200;
    sb_printf(&r->body, "{\"ip\":");
    sb_json_string(&r->body, ipbuf);
    sb_printf(&r->body, ",\"seconds\":%lu}\n", seconds);
}

static void route(admin_t *a, const http_request_t *q, admin_response_t *r) {
    int get = !strcmp(q->method, "GET"), post = !strcmp(q->method, "POST");
    r->status = 200;
    r->content_type = "application/json";
    if (path_is(q, "/health")) {
        /* A balancer's check: 503 from the stop signal on (listen.drain_ms), so that it sends new
         * players elsewhere before the listener closes. Open without the token, like /healthz. */
        if (!get) return error_body(r, 405, "GET only");
        bool draining = a->env.draining(a->env.ctx);
        r->content_type = "text/plain";
        sb_printf(&r->body, draining ? "draining\n" : "ok\n");
        if (draining) r->status = 503;
        return;
    }
    if (path_is(q, "/healthz")) {
        /* Open without the token: load balancers probe it. It says nothing worth hiding. */
        if (!get) return error_body(r, 405, "GET only");
        r->content_type = "text/plain";
        bool stopping = a->env.stopping(a->env.ctx);
        sb_printf(&r->body, stopping ? "stopping\n" : "ok\n");
        if (stopping) r->status = 503;
        return;
    }
    if (!token_ok(a, q)) return error_body(r, 401, "bearer token required");
    if (path_is(q, "/metrics")) {
        if (!get) return error_body(r, 405, "GET only");
        r->content_type = "text/plain; version=0.0.4";
        admin_metrics_t m;
        a->env.metrics(a->env.ctx, &m);
        admin_render_metrics(&m, &r->body);
    } else if (path_is(q, "/sessions")) {
        if (!get) return error_body(r, 405, "GET only");
        session_record_list_t list = { 0 };
        if (a->env.sessions(a->env.ctx, &list) < 0) error_body(r, 503, "a worker did not answer");
        else admin_render_sessions(&list, &r->body);
        gs_free(list.v);
    } else if (path_is(q, "/kick")) {
        if (!post) return error_body(r, 405, "POST only");
        route_kick(a, q, r);
    } else if (path_is(q, "/ban")) {
        if (!post) return error_body(r, 405, "POST only");
        route_ban(a, q, r);
    } else {
        error_body(r, 404, "no such endpoint");
    }
}

static void on_request_bytes(admin_t *a, admin_conn_t *c, const uint8_t *data, size_t n) {
    if (c->state != CONN_READING) return; /* one request per connection; the rest is ignored */
    size_t room = sizeof c->in - c->in_len;
    if (n > room) n = room;
    memcpy(c->in + c->in_len, data, n);
    c->in_len += n;
    http_request_t q;
    int rc = http_parse_request(c->in, c->in_len, sizeof c->in, &q);
    if (rc == -EAGAIN && c->in_len < sizeof c->in) return;
    admin_response_t r = { 0 };
    if (rc == -E2BIG || rc == -EAGAIN) error_body(&r, 431, "request head too large");
    else if (rc < 0) error_body(&r, 400, "malformed request");
    else if (q.content_length) error_body(&r, 413, "no endpoint takes a body");
    else route(a, &q, &r);
    respond(a, c, &r);
}

static void on_event(void *ctx, const io_event_t *ev) {
    admin_t *a = ctx;
    if (ev->kind == IO_WOKEN) return;
    if (ev->kind == IO_ACCEPTED) {
        if (ev->res < 0) return;
        admin_conn_t *c = NULL;
        for (uint32_t i = 0; i < ADMIN_MAX_CONNS && !c; i++)
            if (a->conns[i].state == CONN_FREE) c = &a->conns[i];
        if (!c || atomic_load(&a->stop)) {
            sock_set_abortive(ev->accepted_fd);
            sock_close(ev->accepted_fd);
            return;
        }
        io_attach(a->loop, &c->io, ev->accepted_fd, (uint32_t)(c - a->conns));
        c->state = CONN_READING;
        c->in_len = 0;
        c->deadline_ms = now_ms() + ADMIN_REQUEST_MS;
        if (io_recv_start(a->loop, &c->io) < 0) conn_abort(a, c);
        return;
    }
    if (ev->handle == &a->listener) return;
    admin_conn_t *c = (admin_conn_t *)ev->handle;
    switch (ev->kind) {
    case IO_RECEIVED:
        if (ev->res > 0) on_request_bytes(a, c, ev->data, (size_t)ev->res);
        else if (ev->res == 0 && c->state != CONN_CLOSING) {
            c->state = CONN_CLOSING; /* the client closed first: our FIN answers it, no TIME_WAIT here */
            io_close(a->loop, &c->io, IO_CLOSE_NORMAL);
        } else conn_abort(a, c);
        break;
    case IO_SENT:
        if (ev->res < 0) {
            conn_abort(a, c);
            break;
        }
        c->out_sent += (size_t)ev->res;
        if (c->out_sent < c->out.len) {
            if (io_send(a->loop, &c->io, (const uint8_t *)c->out.data + c->out_sent, (uint32_t)(c->out.len - c->out_sent)) < 0)
                conn_abort(a, c);
        } else {
            c->state = CONN_WAIT_CLOSE;
            c->deadline_ms = now_ms() + ADMIN_CLOSE_MS;
        }
        break;
    case IO_CLOSED:
        sb_free(&c->out);
        c->state = CONN_FREE;
        break;
    default:
        break;
    }
}

static void admin_run(void *arg) {
    admin_t *a = arg;
    io_loop_config_t lc = { .recv_buffer_bytes = ADMIN_RECV_BUFFER_BYTES, .recv_buffers = ADMIN_RECV_BUFFERS,
                            .max_events = ADMIN_MAX_EVENTS, .max_handles = ADMIN_MAX_CONNS + 1 };
    int rc = a->env.backend->loop_open(&a->loop, &lc, on_event, a);
    if (rc == 0) {
        io_attach(a->loop, &a->listener, a->listen_fd, UINT32_MAX);
        a->listen_fd = SOCK_INVALID;
        rc = io_accept_start(a->loop, &a->listener);
    }
    a->open_status = rc;
    atomic_store(&a->wake_loop, rc == 0 ? a->loop : NULL);
    atomic_store(&a->started, rc == 0 ? 1 : -1);
    if (rc < 0) return;
    int stopping = 0;
    for (;;) {
        if (!stopping && atomic_load(&a->stop)) {
            stopping = 1;
            io_close(a->loop, &a->listener, IO_CLOSE_NORMAL);
            for (uint32_t i = 0; i < ADMIN_MAX_CONNS; i++) conn_abort(a, &a->conns[i]);
        }
        if (stopping && a->listener.state == IO_HANDLE_CLOSED) {
            uint32_t busy = 0;
            for (uint32_t i = 0; i < ADMIN_MAX_CONNS; i++) busy += a->conns[i].state != CONN_FREE;
            if (!busy) return;
        }
        if (io_run_once(a->loop, ADMIN_TURN_MS) < 0) return;
        uint64_t now = now_ms();
        for (uint32_t i = 0; i < ADMIN_MAX_CONNS; i++) {
            admin_conn_t *c = &a->conns[i];
            if ((c->state == CONN_READING || c->state == CONN_WAIT_CLOSE) && now >= c->deadline_ms) conn_abort(a, c);
        }
    }
}

int admin_start(admin_t **out, const admin_env_t *env, char *err, size_t err_len) {
    *out = NULL;
    if (!env->port) return 0;
    admin_t *a = gs_calloc(1, sizeof *a);
    a->env = *env;
    a->conns = gs_calloc(ADMIN_MAX_CONNS, sizeof *a->conns);
    atomic_init(&a->stop, false);
    atomic_init(&a->wake_loop, NULL);
    atomic_init(&a->started, 0);
    sock_listen_opts_t o = { .host = env->host, .port = env->port, .backlog = ADMIN_BACKLOG };
    int rc = sock_listen(&o, &a->listen_fd);
    if (rc < 0) {
        snprintf(err, err_len, "admin endpoint: cannot listen on %s:%u: %s", o.host, o.port, strerror(-rc));
        gs_free(a->conns);
        gs_free(a);
        return rc;
    }
    uint16_t port = 0;
    sock_local_port(a->listen_fd, &port);
    rc = os_thread_start(&a->thread, "gskel-admin", admin_run, a);
    while (rc == 0 && atomic_load(&a->started) == 0) os_sleep_ms(ADMIN_START_POLL_MS);
    if (rc < 0 || atomic_load(&a->started) < 0) {
        rc = rc < 0 ? rc : a->open_status;
        snprintf(err, err_len, "admin endpoint: cannot start: %s", strerror(-rc));
        if (a->thread) os_thread_join(a->thread);
        if (a->listen_fd != SOCK_INVALID) sock_close(a->listen_fd);
        if (a->loop) io_loop_close(a->loop);
        gs_free(a->conns);
        gs_free(a);
        return rc;
    }
    log_info("admin_listening", "host=%s port=%u token=%s", env->host, port, env->token[0] ? "required" : "none");
    *out = a;
    return 0;
}

void admin_stop(admin_t *a) {
    if (!a) return;
    atomic_store(&a->stop, true);
    io_loop_t *loop = atomic_load(&a->wake_loop);
    if (loop) io_wake(loop);
    os_thread_join(a->thread);
    io_loop_close(a->loop);
    gs_free(a->conns);
    gs_free(a);
}

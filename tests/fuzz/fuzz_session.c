/* libFuzzer target for the session state machine: a real worker (server/worker.c, session.c,
 * dispatch.c, guard.c) driven through a fake io backend by an arbitrary sequence of operations:
 * connections arriving, frames and raw bytes, FINs, resets, send completions (whole, partial,
 * failed), acknowledgements, clock steps, kick/abort/ban commands and a stop, in any order. The
 * clock is the fuzzer's (worker.clock.read_us), so every deadline path is reachable in microseconds.
 *
 * The fake backend keeps the io.h contract on its side and checks the worker keeps it on the
 * other (one send at a time, nothing after io_close, no FIN before the client's). After the
 * input, the worker is stopped and run to the end; then:
 *   - every session is released, every connection got exactly one IO_CLOSED, every accepted
 *     descriptor is closed, the pools and the guard hold nothing;
 *   - each connection's output is a prefix of the replies a model computes from its input
 *     (echo exact and in order, PONG for PING, one LOGIN_OK with its id), optionally ended by one
 *     KICK, and cut mid-frame only by a reset;
 *   - a cancelled send's bytes are unchanged until its IO_CLOSED (chunks not reused early).
 * Real socketpairs stand in for the accepted sockets so the worker's socket calls (nodelay,
 * SIOCOUTQ for the kick acknowledgement, SO_LINGER) act on real descriptors.
 *
 * Input: byte 0 picks the config (see fuzz_config_of), then operations of 1-3 bytes plus data. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "bytes.h"
#include "config.h"
#include "guard.h"
#include "log.h"
#include "protocol.h"
#include "session.h"
#include "worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CONNS 24u
#define SLOTS 6u
#define MAX_PENDING 256u
#define ADDRS 4u

/* ---- what the fuzzer saw of each connection ---- */

typedef struct bytes_buf {
    uint8_t *p;
    size_t len, cap;
} bytes_buf_t;

static void buf_append(bytes_buf_t *b, const uint8_t *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

typedef struct conn {
    int server_fd, peer_fd;   /* socketpair: the worker's end, the client's end */
    uint8_t addr;             /* 10.0.0.(addr+1) */
    io_handle_t *h;           /* the handle the worker attached, NULL if refused */
    uint32_t id;              /* session id (h->user), kept after the end for stale commands */
    bool seen;                /* its IO_ACCEPTED was delivered (or the listener had closed) */
    bool refused;             /* the worker reset it at accept, or never saw it */
    bool fin_delivered;       /* an IO_RECEIVED 0 reached the worker */
    bool closed;              /* io_close was called */
    bool abortive;            /* ... with IO_CLOSE_ABORT */
    unsigned closed_events;   /* IO_CLOSED delivered */
    uint8_t *cancelled;       /* copy of a send cancelled by io_close, checked at IO_CLOSED */
    const uint8_t *cancelled_ptr;
    uint32_t cancelled_len;
    bytes_buf_t in, out;      /* bytes delivered to the worker; bytes the worker sent */
} conn_t;

/* ---- the fake backend ---- */

typedef enum { EV_ACCEPT, EV_ACCEPT_ERROR, EV_DATA, EV_FIN, EV_RESET, EV_SEND_DONE, EV_CLOSED } pending_kind_t;

typedef struct pending {
    pending_kind_t kind;
    uint32_t conn;
    uint32_t amount; /* EV_SEND_DONE: bytes the kernel takes (0: all); UINT32_MAX: fails */
    uint8_t *data;   /* EV_DATA */
    uint32_t len;
} pending_t;

typedef struct fake {
    io_loop_t base;
    io_event_fn fn;
    void *ctx;
    io_handle_t *listener;
    struct conn *accepting;   /* the connection of the IO_ACCEPTED being delivered */
    uint32_t accepts;         /* IO_ACCEPTED delivered with a connection */
    bool woken;
    pending_t q[MAX_PENDING];
    uint32_t q_len;
    uint32_t closed_q[MAX_CONNS + 1]; /* IO_CLOSED to deliver (UINT32_MAX: the listener) */
    uint32_t closed_len;
    conn_t conns[MAX_CONNS];
    uint32_t nconns;
    uint64_t now_us;
} fake_t;

static fake_t fake; /* one run at a time; the clock callback has no context argument */
static const io_backend_ops_t fake_ops;

static uint64_t fake_clock_us(void) { return fake.now_us; }

/* The connection a handle serves now: slots are reused, so only one not yet IO_CLOSED. */
static conn_t *conn_of(io_handle_t *h) {
    for (uint32_t i = 0; i < fake.nconns; i++)
        if (fake.conns[i].h == h && !fake.conns[i].closed_events) return &fake.conns[i];
    return NULL;
}

/* A full queue drops the fuzzer's operation (returns false). */
static bool push(pending_t p) {
    if (fake.q_len == MAX_PENDING) {
        free(p.data);
        return false;
    }
    fake.q[fake.q_len++] = p;
    return true;
}

/* IO_CLOSED must come whatever else is queued: it has a queue of its own, one entry per
 * connection at most (a full fuzzer queue once displaced one, and the session hung in CLOSING). */
static void push_closed(uint32_t conn) {
    if (fake.closed_len == MAX_CONNS + 1) abort();
    fake.closed_q[fake.closed_len++] = conn;
}

static int fake_probe(char *why, size_t why_len) { (void)why; (void)why_len; return 0; }

static int fake_loop_open(io_loop_t **out, const io_loop_config_t *cfg, io_event_fn fn, void *ctx) {
    (void)cfg;
    fake.fn = fn;
    fake.ctx = ctx;
    fake.base.ops = &fake_ops;
    *out = &fake.base;
    return 0;
}

static void fake_loop_close(io_loop_t *loop) { (void)loop; }

static int fake_attach(io_loop_t *loop, io_handle_t *h, sock_t fd, uint32_t user) {
    (void)loop;
    io_handle_reset(h, fd, user);
    if (user == SESSION_ID_NONE) { fake.listener = h; return 0; }
    conn_t *c = fake.accepting;
    if (!c || c->h || c->server_fd != fd) abort(); /* attached a descriptor IO_ACCEPTED did not hand out */
    c->h = h;
    c->id = user;
    return 0;
}

static int fake_accept_start(io_loop_t *loop, io_handle_t *h) {
    (void)loop;
    if (h != fake.listener || h->state != IO_HANDLE_IDLE) abort();
    h->state = IO_HANDLE_ACTIVE;
    return 0;
}

static int fake_recv_start(io_loop_t *loop, io_handle_t *h) {
    (void)loop;
    if (!conn_of(h) || h->state != IO_HANDLE_IDLE) abort();
    h->state = IO_HANDLE_ACTIVE;
    return 0;
}

static int fake_send(io_loop_t *loop, io_handle_t *h, const uint8_t *buf, uint32_t len) {
    (void)loop;
    conn_t *c = conn_of(h);
    if (!c || c->closed || h->state != IO_HANDLE_ACTIVE) abort(); /* send after io_close */
    if (io_send_busy(h) || len == 0 || !buf) abort();              /* one send at a time */
    h->send_ptr = buf;
    h->send_len = len;
    h->send_done = 0;
    return 0;
}

static int fake_close(io_loop_t *loop, io_handle_t *h, io_close_mode_t mode) {
    (void)loop;
    if (h->state == IO_HANDLE_CLOSING || h->state == IO_HANDLE_CLOSED) abort(); /* closed twice */
    h->state = IO_HANDLE_CLOSING;
    if (h == fake.listener) {
        close(h->fd);
        push_closed(UINT32_MAX);
        return 0;
    }
    conn_t *c = conn_of(h);
    if (!c) abort();
    /* The server never sends the first FIN: a normal close only after the client's. */
    if (mode == IO_CLOSE_NORMAL && !c->fin_delivered) abort();
    c->closed = true;
    c->abortive = mode == IO_CLOSE_ABORT;
    if (io_send_busy(h)) {
        /* Cancelled, but a real kernel may still be reading it until IO_CLOSED. */
        c->cancelled_ptr = h->send_ptr;
        c->cancelled_len = h->send_len;
        c->cancelled = malloc(h->send_len);
        if (!c->cancelled) abort();
        memcpy(c->cancelled, h->send_ptr, h->send_len);
    }
    h->send_ptr = NULL;
    if (c->abortive) sock_set_abortive(c->server_fd);
    close(c->server_fd);
    push_closed((uint32_t)(c - fake.conns));
    return 0;
}

static int fake_wake(io_loop_t *loop) {
    (void)loop;
    fake.woken = true;
    return 0;
}

static const char *fake_describe(io_loop_t *loop) { (void)loop; return "fake"; }

static void deliver(const io_event_t *ev) { fake.fn(fake.ctx, ev); }

static void deliver_accept(uint32_t ci) {
    conn_t *c = &fake.conns[ci];
    c->seen = true;
    if (fake.listener->state != IO_HANDLE_ACTIVE) {
        /* The listener is closed: the connection dies in its backlog, never seen. */
        close(c->server_fd);
        c->refused = true;
        return;
    }
    sock_addr_t peer = { 0 };
    struct sockaddr_in *sin = (struct sockaddr_in *)&peer.ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)(40000 + ci));
    sin->sin_addr.s_addr = htonl(0x0a000001u + c->addr);
    peer.len = sizeof *sin;
    io_event_t ev = { .kind = IO_ACCEPTED, .handle = fake.listener, .accepted_fd = c->server_fd, .peer = &peer };
    fake.accepts++;
    fake.accepting = c;
    deliver(&ev);
    fake.accepting = NULL;
    if (!c->h) {
        /* Not attached: the worker reset it, and the descriptor must be closed by now. */
        if (fcntl(c->server_fd, F_GETFD) != -1) abort();
        c->refused = true;
    }
}

static bool receiving(const conn_t *c) { return c->h && !c->closed && c->h->state == IO_HANDLE_ACTIVE; }

static void deliver_closed(conn_t *c) {
    if (c->cancelled) {
        if (memcmp(c->cancelled, c->cancelled_ptr, c->cancelled_len) != 0) abort(); /* reused early */
        free(c->cancelled);
        c->cancelled = NULL;
    }
    c->closed_events++;
    c->h->state = IO_HANDLE_CLOSED;
    io_event_t ev = { .kind = IO_CLOSED, .handle = c->h };
    deliver(&ev);
}

static void deliver_send_done(conn_t *c, uint32_t amount) {
    io_handle_t *h = c->h;
    if (!receiving(c) || !io_send_busy(h)) return;
    uint32_t left = h->send_len;
    int32_t res;
    if (amount == UINT32_MAX) {
        res = -EPIPE;
    } else {
        uint32_t n = amount == 0 || amount > left ? left : amount;
        ssize_t w = write(c->server_fd, h->send_ptr, n); /* so SIOCOUTQ sees unacknowledged bytes */
        (void)w;
        buf_append(&c->out, h->send_ptr, n);
        res = (int32_t)n;
    }
    h->send_ptr = NULL;
    io_event_t ev = { .kind = IO_SENT, .handle = h, .res = res };
    deliver(&ev);
}

static void deliver_pending(const pending_t *p) {
    if (p->kind == EV_ACCEPT_ERROR) {
        if (fake.listener->state != IO_HANDLE_ACTIVE) return;
        io_event_t ev = { .kind = IO_ACCEPTED, .handle = fake.listener, .res = -EMFILE, .accepted_fd = SOCK_INVALID };
        deliver(&ev);
        return;
    }
    if (p->kind == EV_CLOSED && p->conn == UINT32_MAX) {
        fake.listener->state = IO_HANDLE_CLOSED;
        io_event_t ev = { .kind = IO_CLOSED, .handle = fake.listener };
        deliver(&ev);
        return;
    }
    conn_t *c = &fake.conns[p->conn];
    switch (p->kind) {
    case EV_ACCEPT:
        deliver_accept(p->conn);
        break;
    case EV_CLOSED:
        deliver_closed(c);
        break;
    case EV_SEND_DONE:
        deliver_send_done(c, p->amount);
        break;
    case EV_DATA:
    case EV_FIN:
    case EV_RESET: {
        if (!receiving(c) || c->fin_delivered) break; /* nothing is read after the end of stream */
        io_event_t ev = { .kind = IO_RECEIVED, .handle = c->h };
        if (p->kind == EV_DATA) {
            ev.res = (int32_t)p->len;
            ev.data = p->data;
            buf_append(&c->in, p->data, p->len);
        } else if (p->kind == EV_FIN) {
            ev.res = 0;
            c->fin_delivered = true;
        } else {
            ev.res = -ECONNRESET;
        }
        deliver(&ev);
        break;
    }
    case EV_ACCEPT_ERROR:
        break;
    }
}

/* Delivers what was queued before the call; what the callbacks queue waits for the next turn,
 * as a real backend's completions do. */
static int fake_run_once(io_loop_t *loop, int timeout_ms) {
    (void)loop;
    (void)timeout_ms;
    int n = 0;
    if (fake.woken) {
        fake.woken = false;
        io_event_t ev = { .kind = IO_WOKEN };
        deliver(&ev);
        n++;
    }
    uint32_t batch = fake.q_len;
    pending_t taken[MAX_PENDING];
    memcpy(taken, fake.q, batch * sizeof taken[0]);
    memmove(fake.q, fake.q + batch, (fake.q_len - batch) * sizeof fake.q[0]);
    fake.q_len -= batch;
    for (uint32_t i = 0; i < batch; i++) {
        deliver_pending(&taken[i]);
        free(taken[i].data);
        n++;
    }
    uint32_t closed_batch = fake.closed_len, closed[MAX_CONNS + 1];
    memcpy(closed, fake.closed_q, closed_batch * sizeof closed[0]);
    fake.closed_len = 0;
    for (uint32_t i = 0; i < closed_batch; i++) {
        deliver_pending(&(pending_t){ .kind = EV_CLOSED, .conn = closed[i] });
        n++;
    }
    return n;
}

static const io_backend_ops_t fake_ops = {
    .name = "fake",
    .probe = fake_probe,
    .loop_open = fake_loop_open,
    .loop_close = fake_loop_close,
    .attach = fake_attach,
    .accept_start = fake_accept_start,
    .recv_start = fake_recv_start,
    .send = fake_send,
    .close = fake_close,
    .run_once = fake_run_once,
    .wake = fake_wake,
    .describe = fake_describe,
};

/* ---- the oracle: what a connection's output may be, given its input ---- */

typedef struct reply {
    uint16_t op;
    const uint8_t *payload; /* NULL: any payload of payload_len (LOGIN_OK: the id is checked) */
    uint32_t payload_len;
    uint32_t check_len;     /* leading bytes of payload that must match */
} reply_t;

/* The replies the skeleton owes for this input, in order, until the first frame that ends the
 * session (bad length, unknown op, bad payload or state, LOGOUT). */
static size_t model_replies(const cfg_t *cfg, const bytes_buf_t *in, reply_t *out, size_t cap) {
    size_t n = 0, off = 0;
    bool logged_in = false;
    while (in->len - off >= FRAME_HEADER_BYTES && n < cap) {
        uint16_t len = le_get_u16(in->p + off), op = le_get_u16(in->p + off + 2);
        if (len < FRAME_HEADER_BYTES || len > cfg->session.max_frame_bytes || in->len - off < len) break;
        const uint8_t *body = in->p + off + FRAME_HEADER_BYTES;
        uint32_t blen = len - FRAME_HEADER_BYTES;
        off += len;
        if (op == OP_ECHO) {
            out[n++] = (reply_t){ OP_ECHO, body, blen, blen };
        } else if (op == OP_PING && blen == 8) {
            out[n++] = (reply_t){ OP_PONG, body, 16, 8 };
        } else if (op == OP_LOGIN && !logged_in && blen >= 1 && body[0] >= 1 &&
                   body[0] <= PROTO_LOGIN_NAME_MAX && blen == 1u + body[0]) {
            out[n++] = (reply_t){ OP_LOGIN_OK, NULL, 4, 0 };
            logged_in = true;
        } else if (op == OP_LOGOUT && logged_in && blen == 0) {
            out[n++] = (reply_t){ OP_LOGOUT_OK, NULL, 0, 0 };
            break;
        } else {
            break;
        }
    }
    return n;
}

static void check_output(const cfg_t *cfg, const conn_t *c) {
    if (c->refused) {
        if (c->out.len) abort();
        return;
    }
    size_t cap = c->in.len / FRAME_HEADER_BYTES + 1;
    reply_t *want = malloc(cap * sizeof *want);
    if (!want) abort();
    size_t nwant = model_replies(cfg, &c->in, want, cap);
    size_t got = 0, off = 0;
    bool ended = false; /* a KICK or LOGOUT_OK was the last word */
    while (off < c->out.len) {
        if (ended) abort(); /* nothing after the notice */
        if (c->out.len - off < FRAME_HEADER_BYTES) break;
        uint16_t len = le_get_u16(c->out.p + off), op = le_get_u16(c->out.p + off + 2);
        if (len < FRAME_HEADER_BYTES) abort();
        if (c->out.len - off < len) break;
        const uint8_t *body = c->out.p + off + FRAME_HEADER_BYTES;
        uint32_t blen = len - FRAME_HEADER_BYTES;
        off += len;
        if (op == OP_KICK) {
            if (blen < 2 || blen > 2 + PROTO_KICK_TEXT_MAX) abort();
            ended = true;
            continue;
        }
        if (got >= nwant) abort(); /* a reply nothing asked for */
        const reply_t *r = &want[got++];
        if (op != r->op || blen != r->payload_len) abort();
        if (r->check_len && memcmp(body, r->payload, r->check_len) != 0) abort();
        if (op == OP_LOGIN_OK && le_get_u32(body) != c->id) abort();
        if (op == OP_LOGOUT_OK) ended = true;
    }
    /* A frame cut short on the wire: only a reset may leave it so. */
    if (off != c->out.len && !c->abortive) abort();
    /* Closed with a FIN (after the client's) and never told to go: everything asked was answered
     * before the FIN, a request that came with the client's own FIN included. */
    bool kicked = false;
    for (size_t o = 0; o + FRAME_HEADER_BYTES <= c->out.len;) {
        uint16_t len = le_get_u16(c->out.p + o);
        if (le_get_u16(c->out.p + o + 2) == OP_KICK) kicked = true;
        o += len;
    }
    if (c->closed && !c->abortive && !kicked && got != nwant) abort();
    free(want);
}

/* ---- invariants between turns ---- */

static void check_table(worker_t *w) {
    if (w->dirty_count != 0) abort();
    uint32_t live = 0;
    for (uint32_t i = 0; i < w->sessions.fresh; i++) {
        session_t *s = &w->sessions.slots[i];
        if (s->state == SESSION_FREE) continue;
        live++;
        if (s->io.user != s->id) abort();
        conn_t *c = conn_of(&s->io);
        if (!c || c->closed_events) abort(); /* a released handle still in the table */
        if ((s->state == SESSION_CLOSING) != c->closed) abort();
        /* A session told to go must have a deadline, or a silent peer would hold it forever. */
        if ((s->state == SESSION_FLUSHING || s->state == SESSION_GRACE || s->state == SESSION_DRAINING) && !timer_armed(&s->timer)) abort();
    }
    if (live != w->sessions.active || stat_read(&w->stats.sessions_active) != live) abort();
}

/* ---- the input ---- */

typedef struct input {
    const uint8_t *p;
    size_t len, off;
} input_t;

static uint8_t in_u8(input_t *in) { return in->off < in->len ? in->p[in->off++] : 0; }

static uint8_t *in_take(input_t *in, size_t want, size_t *got) {
    size_t n = in->len - in->off < want ? in->len - in->off : want;
    uint8_t *p = malloc(n ? n : 1); /* exact size: ASan sees a read past what was received */
    if (!p) abort();
    memcpy(p, in->p + in->off, n);
    in->off += n;
    *got = n;
    return p;
}

/* Config byte: bit 0 small frames and chunks (slow_reader within reach), bit 1 a per-address
 * limit of 2, bit 2 autoban after 2 kicks, bit 3 a packet rate of 20/s, bits 4-5 login/idle
 * timeouts, bit 6 the partial-frame timeout, bit 7 no SIOCOUTQ acknowledgement at the end. */
static void fuzz_config_of(uint8_t b, cfg_t *c) {
    char err[CFG_ERR_MAX];
    if (cfg_load_defaults(c, err) != 0) abort();
    c->io.command_queue = 16;
    c->auth.mode = CFG_AUTH_NONE; /* no key file here; tickets have their own fuzzer */
    c->guard.max_tracked_ips = 64;
    c->session.max_sessions = SLOTS;
    c->session.close_grace_ms = 300;
    c->session.login_timeout_ms = 0;
    c->session.idle_timeout_ms = 0;
    c->guard.partial_frame_timeout_ms = 0;
    c->guard.autoban_kicks = 0;
    if (b & 1) {
        c->session.max_frame_bytes = 64;
        c->session.send_chunk_bytes = 256;
        c->session.send_queue_limit_bytes = 512;
    }
    if (b & 2) c->guard.max_conns_per_ip = 2;
    if (b & 4) {
        c->guard.autoban_kicks = 2;
        c->guard.ban_seconds = 2;
    }
    if (b & 8) {
        c->guard.max_packets_per_sec = 20;
        c->guard.packets_burst = 5;
    }
    if (b & 16) c->session.login_timeout_ms = 1000;
    if (b & 32) c->session.idle_timeout_ms = 2000;
    if (b & 64) c->guard.partial_frame_timeout_ms = 500;
    if (cfg_validate(c, err) != 0) abort();
}

static const uint16_t frame_ops[8] = { OP_ECHO, OP_ECHO, OP_PING, OP_LOGIN, OP_LOGOUT, OP_PONG, OP_GAME_FIRST, 0 };

/* One frame for connection `ci`: op from the table (or the input), a well-formed LOGIN name or
 * PING time when the op wants one, or payload bytes straight from the input. */
static void op_frame(input_t *in, uint32_t ci) {
    uint8_t kind = in_u8(in), blen = in_u8(in);
    uint16_t op = frame_ops[kind & 7];
    if ((kind & 7) == 7) op = (uint16_t)(in_u8(in) | in_u8(in) << 8);
    if (op == OP_LOGIN && (kind & 8)) blen = (uint8_t)(1 + (blen % PROTO_LOGIN_NAME_MAX) + 1);
    if (op == OP_PING && (kind & 8)) blen = 8;
    if (op == OP_LOGOUT && (kind & 8)) blen = 0;
    size_t got;
    uint8_t *body = in_take(in, blen, &got);
    if (op == OP_LOGIN && (kind & 8) && got) body[0] = (uint8_t)(got - 1);
    uint32_t len = FRAME_HEADER_BYTES + (uint32_t)got;
    uint8_t *p = malloc(len);
    if (!p) abort();
    le_put_u16(p, (uint16_t)len);
    le_put_u16(p + 2, op);
    memcpy(p + FRAME_HEADER_BYTES, body, got);
    free(body);
    push((pending_t){ .kind = EV_DATA, .conn = ci, .data = p, .len = len });
}

static void op_connect(uint8_t addr) {
    if (fake.nconns == MAX_CONNS) return;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) abort();
    conn_t *c = &fake.conns[fake.nconns];
    memset(c, 0, sizeof *c);
    c->server_fd = sv[0];
    c->peer_fd = sv[1];
    c->addr = (uint8_t)(addr % ADDRS);
    if (!push((pending_t){ .kind = EV_ACCEPT, .conn = fake.nconns })) {
        close(sv[0]);
        close(sv[1]);
        return;
    }
    fake.nconns++;
}

static void ack_all(void) {
    uint8_t sink[4096];
    for (uint32_t i = 0; i < fake.nconns; i++)
        while (read(fake.conns[i].peer_fd, sink, sizeof sink) > 0) {}
}

static void post(worker_t *w, worker_cmd_kind_t kind, uint8_t arg) {
    worker_cmd_t cmd = { .kind = (uint8_t)kind, .reason = REASON_KICKED, .session_id = SESSION_ID_NONE };
    if (kind == WORKER_CMD_ABORT_IP) {
        cmd.reason = REASON_BANNED;
        cmd.ip = (sock_ip_t){ .family = 4, .addr = { 10, 0, 0, (uint8_t)(1 + arg % ADDRS) } };
    } else if (fake.nconns) {
        cmd.session_id = fake.conns[arg % fake.nconns].id; /* may be stale: the generation must say so */
    }
    (void)worker_post(w, &cmd); /* a full queue refuses; nothing blocks */
}

static void run_ops(worker_t *w, input_t *in) {
    while (in->off < in->len) {
        uint8_t op = in_u8(in);
        uint32_t ci = fake.nconns ? in_u8(in) % fake.nconns : 0;
        switch (op % 14) {
        case 0: op_connect(in_u8(in)); break;
        case 1: push((pending_t){ .kind = EV_ACCEPT_ERROR }); break;
        case 2: if (fake.nconns) op_frame(in, ci); break;
        case 3: {
            size_t got;
            uint8_t *p = in_take(in, in_u8(in), &got);
            if (fake.nconns && got) push((pending_t){ .kind = EV_DATA, .conn = ci, .data = p, .len = (uint32_t)got });
            else free(p);
            break;
        }
        case 4: if (fake.nconns) push((pending_t){ .kind = EV_FIN, .conn = ci }); break;
        case 5: if (fake.nconns) push((pending_t){ .kind = EV_RESET, .conn = ci }); break;
        case 6: {
            uint8_t a = in_u8(in);
            uint32_t amount = a == 255 ? UINT32_MAX : a < 128 ? 0 : (uint32_t)(a - 127);
            if (fake.nconns) push((pending_t){ .kind = EV_SEND_DONE, .conn = ci, .amount = amount });
            break;
        }
        case 7: ack_all(); break;
        case 8: { uint32_t b = in_u8(in); fake.now_us += (uint64_t)(b + 1) * (b + 1) * 1000u; break; }
        case 9: case 10: case 11:
            if (worker_turn(w, 0) < 0) abort();
            check_table(w);
            break;
        case 12: post(w, (worker_cmd_kind_t)(in_u8(in) % 3), (uint8_t)ci); break;
        case 13: if (in_u8(in) == 0x5a) worker_request_stop(w); break; /* rare: most runs stop at the end */
        }
    }
}

/* What a stuck run leaves behind, for whoever reads the crash report. */
static void dump_sessions(worker_t *w) {
    fprintf(stderr, "now_ms=%llu listener_state=%u\n", (unsigned long long)(fake.now_us / 1000u), fake.listener->state);
    for (uint32_t i = 0; i < w->sessions.fresh; i++) {
        session_t *s = &w->sessions.slots[i];
        if (s->state == SESSION_FREE) continue;
        conn_t *c = conn_of(&s->io);
        fprintf(stderr, "slot=%u id=%u state=%s reason=%u sendq=%u busy=%d timer=%d expires_ms=%llu "
                "conn=%d fin=%d closed=%d\n", i, s->id, session_state_name(s), s->close_reason,
                s->sendq.bytes, io_send_busy(&s->io), timer_armed(&s->timer), (unsigned long long)s->timer.expires_ms,
                c ? (int)(c - fake.conns) : -1, c ? c->fin_delivered : -1, c ? c->closed : -1);
    }
}

/* Stop and run to the end: every send completes, the clock moves, acknowledgements come unless
 * the config byte says the clients never acknowledge (then the notice deadline must end it). */
static void run_to_end(worker_t *w, bool acks) {
    worker_request_stop(w);
    for (int turn = 0;; turn++) {
        if (turn == 4000) { /* 80 s of fake time: some session never ended */
            dump_sessions(w);
            abort();
        }
        for (uint32_t i = 0; i < fake.nconns; i++)
            if (fake.conns[i].h && io_send_busy(fake.conns[i].h))
                push((pending_t){ .kind = EV_SEND_DONE, .conn = i, .amount = 0 });
        if (acks) ack_all();
        int rc = worker_turn(w, 0);
        if (rc < 0) abort();
        if (rc == 1) break;
        check_table(w);
        fake.now_us += 20000;
    }
}

static void check_end(worker_t *w, guard_t *guard, const cfg_t *cfg) {
    if (w->sessions.active != 0 || stat_read(&w->stats.sessions_active) != 0) abort();
    if (w->send_chunks.in_use != 0 || w->frame_bufs.in_use != 0) abort();
    if (fake.listener->state != IO_HANDLE_CLOSED) abort();
    for (uint32_t i = 0; i < fake.nconns; i++) {
        conn_t *c = &fake.conns[i];
        if (!c->seen) { /* still in the backlog when the worker finished: dies with the listener */
            close(c->server_fd);
            c->refused = true;
        }
        /* Exactly one IO_CLOSED each; the fake closed every attached descriptor at io_close and
         * deliver_accept checked the refused ones, so none is left open. */
        if (!c->refused && (!c->h || !c->closed || c->closed_events != 1)) abort();
        check_output(cfg, c);
    }
    /* Every connection handed to the worker is counted once: as a session that ended (for
     * some reason), refused by the guard (counted under its reason), or refused as full. */
    uint64_t ended = stat_read(&w->stats.rejected_full);
    for (int r = 0; r < REASON_COUNT; r++) ended += stat_read(&w->stats.disconnects[r]);
    if (ended != fake.accepts || stat_read(&w->stats.accepted) > fake.accepts) abort();
    for (uint8_t a = 0; a < ADDRS; a++) {
        sock_ip_t ip = { .family = 4, .addr = { 10, 0, 0, (uint8_t)(a + 1) } };
        if (guard_conns(guard, &ip, fake.now_us / 1000u) != 0) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool quiet;
    if (!quiet) {
        log_configure(LOG_ERROR, LOG_FORMAT_LOGFMT, NULL);
        quiet = true;
    }
    if (size < 1) return 0;
    memset(&fake, 0, sizeof fake);
    fake.now_us = 1000000000u;
    cfg_t cfg;
    fuzz_config_of(data[0], &cfg);

    guard_t *guard = NULL;
    if (guard_create(&guard, &cfg) != 0) abort();
    int listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); /* stands in for the listener */
    if (listen_fd < 0) abort();
    worker_t w;
    if (worker_init(&w, &cfg, 0, &fake_ops, guard, listen_fd, 0, SLOTS) != 0) abort();
    /* The fuzzer's clock from the start: the wheel is re-based on it. */
    w.clock.read_us = fake_clock_us;
    timer_wheel_destroy(&w.timers);
    timer_wheel_init(&w.timers, fake.now_us / 1000u, WORKER_TICK_MS, WORKER_WHEEL_SLOTS);
    if (worker_open(&w) != 0) abort();

    input_t in = { data + 1, size - 1, 0 };
    run_ops(&w, &in);
    run_to_end(&w, !(data[0] & 128));
    check_end(&w, guard, &cfg);

    worker_destroy(&w);
    guard_destroy(guard);
    for (uint32_t i = 0; i < fake.nconns; i++) {
        close(fake.conns[i].peer_fd);
        free(fake.conns[i].in.p);
        free(fake.conns[i].out.p);
        free(fake.conns[i].cancelled);
    }
    for (uint32_t i = 0; i < fake.q_len; i++) free(fake.q[i].data);
    return 0;
}

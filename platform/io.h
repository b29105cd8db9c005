/* io: the completion-style contract every OS backend implements (io_uring, epoll, IOCP).
 * Callers start operations on handles and get completions back through one callback, the same
 * shape on every platform: io_uring and IOCP complete natively, epoll turns readiness into
 * completions. The backend owns receive buffers (provided buffers, a per-loop scratch buffer) and
 * lends bytes to the callback only. It never interprets the bytes and never decides policy: the
 * caller chooses when to close and how (normal or abortive). One loop per thread; only io_wake
 * may be called from another thread. */
#ifndef GSKEL_IO_H
#define GSKEL_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "sock.h"

typedef struct io_loop io_loop_t;

/* Handle states, owned by the backend (one transition function each there). */
typedef enum {
    IO_HANDLE_IDLE,    /* attached, nothing armed */
    IO_HANDLE_ACTIVE,  /* accepting or receiving */
    IO_HANDLE_CLOSING, /* close requested: in-flight ops being ended and reaped */
    IO_HANDLE_CLOSED   /* IO_CLOSED delivered; the memory may be reused */
} io_handle_state_t;

/* A socket as the backend sees it; embedded in the caller's session slot, whose memory must stay
 * put from io_attach until IO_CLOSED. Fields are the backend's; callers read `fd` and `user`. */
typedef struct io_handle {
    sock_t fd;
    uint32_t user;             /* caller's token (a session id), echoed in completions */
    uint8_t state;             /* io_handle_state_t */
    uint8_t flags;             /* backend-private */
    uint16_t inflight;         /* ops whose completions are not yet reaped */
    const uint8_t *send_ptr;   /* the send in flight (epoll keeps it to retry on EPOLLOUT) */
    uint32_t send_len;
    uint32_t send_done;
    void *ext;                 /* backend-private per-handle extension (IOCP OVERLAPPEDs) */
} io_handle_t;

typedef enum {
    IO_ACCEPTED, /* listener produced a connection: accepted_fd, peer; res 0 or -errno. peer->len
                    is 0 when the connection was reset before it could be read (io_uring) */
    IO_RECEIVED, /* res > 0: bytes in data[0..res); 0: end of stream (peer FIN); < 0: -errno */
    IO_SENT,     /* res >= 0: bytes taken by the kernel (may be fewer than asked); < 0: -errno */
    IO_CLOSED,   /* every op reaped and the socket closed: the handle may be reused */
    IO_WOKEN     /* io_wake was called (handle NULL) */
} io_event_kind_t;

typedef struct io_event {
    io_event_kind_t kind;
    io_handle_t *handle;
    int32_t res;
    const uint8_t *data;       /* IO_RECEIVED: lent until the callback returns */
    sock_t accepted_fd;        /* IO_ACCEPTED: non-blocking, owned by the caller from now */
    const sock_addr_t *peer;   /* IO_ACCEPTED: lent until the callback returns */
} io_event_t;

typedef void (*io_event_fn)(void *ctx, const io_event_t *ev);

/* RELEASE hands the socket on (the caller holds another descriptor of it, sock_dup): the ops end
 * and this descriptor closes, but the socket is neither shut down nor reset. */
typedef enum { IO_CLOSE_NORMAL, IO_CLOSE_ABORT, IO_CLOSE_RELEASE } io_close_mode_t;

typedef struct io_loop_config {
    uint32_t recv_buffer_bytes; /* size of one receive buffer */
    uint32_t recv_buffers;      /* io_uring: provided buffers per loop (a power of two) */
    uint32_t max_events;        /* completions handled per io_run_once */
    uint32_t max_handles;       /* sessions this loop may hold (sizes rings and tables) */
} io_loop_config_t;

/* One backend: nginx-style ops table, chosen at run time. */
typedef struct io_backend_ops {
    const char *name;
    /* 0 if this backend can run here; else -errno and a reason in why. */
    int (*probe)(char *why, size_t why_len);
    int (*loop_open)(io_loop_t **out, const io_loop_config_t *cfg, io_event_fn fn, void *ctx);
    void (*loop_close)(io_loop_t *loop);
    int (*attach)(io_loop_t *loop, io_handle_t *h, sock_t fd, uint32_t user);
    int (*accept_start)(io_loop_t *loop, io_handle_t *listener);
    int (*recv_start)(io_loop_t *loop, io_handle_t *h);
    /* One send in flight per handle; buf..buf+len must stay valid until its IO_SENT, and the
     * handle counts as busy (io_send_busy) until that IO_SENT has been delivered. */
    int (*send)(io_loop_t *loop, io_handle_t *h, const uint8_t *buf, uint32_t len);
    /* Ends every op, closes (ABORT: RST, queue dropped), and delivers exactly one IO_CLOSED. No
     * other completion is delivered for h after this call. */
    int (*close)(io_loop_t *loop, io_handle_t *h, io_close_mode_t mode);
    /* Waits up to timeout_ms (-1: forever) and delivers what completed. Returns the number of
     * events delivered (callbacks made), or -errno. */
    int (*run_once)(io_loop_t *loop, int timeout_ms);
    int (*wake)(io_loop_t *loop); /* thread-safe */
    /* One line on what the backend uses (features, buffer sizes), for the start-up log. */
    const char *(*describe)(io_loop_t *loop);
    /* A socket released by one loop (IO_CLOSE_RELEASE) may be attached to another. IOCP: no, a
     * socket stays bound to its first completion port; only the same loop may take it back. */
    bool handover_any_loop;
} io_backend_ops_t;

/* Every loop begins with this, so the wrappers below can dispatch. */
struct io_loop {
    const io_backend_ops_t *ops;
    /* Entries closes have visited to find what they remove or cancel: in the backend's own lists,
     * and in the kernel's as its source reads (a cancel by user_data: one bucket of a hash table).
     * The backend counts; one close must visit as many with 10,000 other handles as with none
     * (test_io_contract.c). */
    uint64_t close_visits;
};

/* Backends compiled into this binary, in `auto` preference order; NULL-terminated. */
extern const io_backend_ops_t *const io_backends[];

/* Finds a backend by name ("io_uring", "epoll", "iocp"), or `auto` (NULL name): the first that
 * probes OK. Returns 0, or -ENOENT (not built in) / the probe's error, with a reason in why (for
 * auto: why each earlier one was skipped). */
int io_backend_select(const char *name, const io_backend_ops_t **out, char *why, size_t why_len);
/* Room for io_backend_select's why: one reason per backend tried. */
#define IO_BACKEND_WHY_MAX 300

/* What every backend's attach starts with: a clean handle for fd. */
static inline void io_handle_reset(io_handle_t *h, sock_t fd, uint32_t user) {
    *h = (io_handle_t){ .fd = fd, .user = user, .state = IO_HANDLE_IDLE };
}
/* The whole attach of a backend that registers nothing per handle until it is used (epoll,
 * io_uring); IOCP associates the socket with its port and has its own. */
static inline int io_attach_plain(io_loop_t *l, io_handle_t *h, sock_t fd, uint32_t user) {
    (void)l;
    io_handle_reset(h, fd, user);
    return 0;
}

static inline int io_attach(io_loop_t *l, io_handle_t *h, sock_t fd, uint32_t user) { return l->ops->attach(l, h, fd, user); }
static inline int io_accept_start(io_loop_t *l, io_handle_t *h) { return l->ops->accept_start(l, h); }
static inline int io_recv_start(io_loop_t *l, io_handle_t *h) { return l->ops->recv_start(l, h); }
static inline int io_send(io_loop_t *l, io_handle_t *h, const uint8_t *b, uint32_t n) { return l->ops->send(l, h, b, n); }
static inline int io_close(io_loop_t *l, io_handle_t *h, io_close_mode_t m) { return l->ops->close(l, h, m); }
static inline int io_run_once(io_loop_t *l, int timeout_ms) { return l->ops->run_once(l, timeout_ms); }
static inline int io_wake(io_loop_t *l) { return l->ops->wake(l); }
static inline void io_loop_close(io_loop_t *l) { l->ops->loop_close(l); }
static inline const char *io_describe(io_loop_t *l) { return l->ops->describe(l); }
static inline bool io_send_busy(const io_handle_t *h) { return h->send_ptr != 0; }

#endif

/* The IOCP backend: the completions of io.h, natively. One completion port per loop (worker),
 * drained with GetQueuedCompletionStatusEx. Sessions use overlapped WSARecv/WSASend whose
 * OVERLAPPEDs live in a per-handle extension taken from a per-loop pool. By default a session
 * keeps a zero-byte WSARecv posted and reads with a non-blocking recv into one scratch buffer per
 * loop when it completes, so an idle connection pins no buffer in the non-paged pool
 * (docs/tuning.md); GSKEL_IOCP_RECV=buffered posts a real buffer per connection instead.
 * Listeners accept with AcceptEx (found through WSAIoctl) into sockets made in advance. Closing
 * cancels every operation (CancelIoEx) and IO_CLOSED waits for each one's completion, so no
 * OVERLAPPED or buffer is reused while the kernel may still write it. */
#include "io.h"

#include <errno.h>
#include <mswsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "io_deferred.h"
#include "pool.h"
#include "win.h"

enum {
    IOCP_LISTENER = 1 << 0,   /* accepts posted */
    IOCP_RECEIVING = 1 << 1,  /* recv_start called: a receive stays posted until end of stream */
    IOCP_ASSOCIATED = 1 << 2, /* the socket is bound to this loop's port */
};

/* Completion keys: the OVERLAPPED says which operation, the key says who posted it. */
enum { IOCP_KEY_IO = 1, IOCP_KEY_ACCEPT = 2, IOCP_KEY_WAKE = 3 };

typedef enum { IOCP_OP_RECV, IOCP_OP_SEND, IOCP_OP_ACCEPT } iocp_op_kind_t;

/* AcceptEx accepts at most as many connections at once as it has posted: enough to absorb a
 * connect burst between two loop turns, the kernel backlog holds the rest. */
#define IOCP_ACCEPTS_POSTED 32
/* When no accept socket could be made (no buffers, handle quota), the loop retries this often. */
#define IOCP_ACCEPT_RETRY_MS 100
/* AcceptEx wants room for each address plus 16 bytes. */
#define IOCP_ADDR_LEN (sizeof(SOCKADDR_STORAGE) + 16)

typedef struct iocp_op {
    OVERLAPPED ov; /* first: a completion's OVERLAPPED pointer is the op */
    io_handle_t *h;
    uint8_t kind;    /* iocp_op_kind_t */
    uint8_t pending; /* posted and its completion not yet reaped */
} iocp_op_t;

typedef struct iocp_session_ext {
    iocp_op_t recv;
    iocp_op_t send;
    uint8_t *buf; /* buffered receive mode only: the connection's own receive buffer */
} iocp_session_ext_t;

struct iocp_loop;

typedef struct iocp_accept {
    iocp_op_t op;
    struct iocp_loop *loop;
    SOCKET sock;  /* the socket AcceptEx connects, made before the connection arrives */
    HANDLE event; /* shared listener only: signalled when this AcceptEx completes... */
    HANDLE wait;  /* ...and this thread-pool wait posts that to the loop's port */
    uint8_t addrs[2 * IOCP_ADDR_LEN];
} iocp_accept_t;

typedef struct iocp_listen_ext {
    struct iocp_listen_ext *next; /* every listener of the loop, for retries and loop_close */
    io_handle_t *h;
    LPFN_ACCEPTEX accept_ex;
    LPFN_GETACCEPTEXSOCKADDRS get_addrs;
    int family;
    bool direct;       /* the listening socket is bound to this loop's port */
    uint32_t unposted; /* accepts that could not be posted: retried every IOCP_ACCEPT_RETRY_MS */
    iocp_accept_t acc[IOCP_ACCEPTS_POSTED];
} iocp_listen_ext_t;

typedef struct iocp_loop {
    io_loop_t base;
    HANDLE port;
    io_event_fn fn;
    void *ctx;
    bool zero_byte;   /* zero-byte WSARecv, then recv into scratch */
    uint8_t *scratch; /* zero-byte mode: the loop's one receive buffer */
    uint32_t recv_len;
    OVERLAPPED_ENTRY *entries;
    uint32_t max_events;
    pool_t exts; /* iocp_session_ext_t */
    pool_t bufs; /* buffered mode: recv_len-byte receive buffers */
    iocp_listen_ext_t *listeners;
    io_deferred_t deferred;
    char desc[200];
} iocp_loop_t;

extern const io_backend_ops_t io_iocp_ops;

static int iocp_probe(char *why, size_t why_len) {
    int rc = win_wsa_init();
    if (rc < 0) {
        snprintf(why, why_len, "WSAStartup failed (%d)", -rc);
        return rc;
    }
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!port) {
        DWORD err = GetLastError();
        char text[160];
        snprintf(why, why_len, "CreateIoCompletionPort: %s", win_error_text(err, text, sizeof text));
        return win_errno(err);
    }
    CloseHandle(port);
    return 0;
}

static const char *iocp_describe(io_loop_t *base) { return ((iocp_loop_t *)base)->desc; }

static void deliver(iocp_loop_t *l, io_event_kind_t kind, io_handle_t *h, int32_t res, const uint8_t *data) {
    io_event_t ev = { .kind = kind, .handle = h, .res = res, .data = data, .accepted_fd = SOCK_INVALID };
    l->fn(l->ctx, &ev);
}

/* ---- listeners ---- */

static VOID CALLBACK on_accept_signalled(PVOID arg, BOOLEAN timed_out) {
    (void)timed_out;
    iocp_accept_t *a = arg;
    PostQueuedCompletionStatus(a->loop->port, 0, IOCP_KEY_ACCEPT, &a->op.ov);
}

static int post_accept(iocp_listen_ext_t *x, iocp_accept_t *a) {
    io_handle_t *h = x->h;
    SOCKET s = WSASocketW(x->family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET) return sock_last_error();
    memset(&a->op.ov, 0, sizeof a->op.ov);
    /* The low bit keeps the completion off the port the socket is bound to (another worker's). */
    a->op.ov.hEvent = x->direct ? NULL : (HANDLE)((ULONG_PTR)a->event | 1);
    DWORD got = 0;
    /* No receive data: a connection that sends nothing must not hold an accept. */
    if (!x->accept_ex(h->fd, s, a->addrs, 0, IOCP_ADDR_LEN, IOCP_ADDR_LEN, &got, &a->op.ov)) {
        int err = WSAGetLastError();
        if (err != ERROR_IO_PENDING) {
            closesocket(s);
            return win_errno((DWORD)err);
        }
    }
    /* Done at once or later, the completion is notified either way: one path for both. */
    a->sock = s;
    a->op.pending = 1;
    h->inflight++;
    return 0;
}

/* Posts every accept not in flight; returns the last error, 0 if all are posted. */
static int post_idle_accepts(iocp_listen_ext_t *x) {
    int rc = 0;
    x->unposted = 0;
    for (int i = 0; i < IOCP_ACCEPTS_POSTED; i++) {
        iocp_accept_t *a = &x->acc[i];
        if (a->op.pending) continue;
        int err = post_accept(x, a);
        if (err < 0) {
            rc = err;
            x->unposted++;
        }
    }
    return rc;
}

/* Only once no accept is in flight: the waits are gone after UnregisterWaitEx returns. */
static void listen_ext_free(iocp_loop_t *l, iocp_listen_ext_t *x) {
    for (iocp_listen_ext_t **p = &l->listeners; *p; p = &(*p)->next) {
        if (*p == x) {
            *p = x->next;
            break;
        }
    }
    for (int i = 0; i < IOCP_ACCEPTS_POSTED; i++) {
        iocp_accept_t *a = &x->acc[i];
        if (a->wait) UnregisterWaitEx(a->wait, INVALID_HANDLE_VALUE);
        if (a->event) CloseHandle(a->event);
        if (a->sock != INVALID_SOCKET) closesocket(a->sock);
    }
    gs_free(x);
}

static int iocp_accept_start(io_loop_t *base, io_handle_t *h) {
    iocp_loop_t *l = (iocp_loop_t *)base;
    if (h->state != IO_HANDLE_IDLE) return h->state == IO_HANDLE_ACTIVE ? 0 : -EBADF;
    iocp_listen_ext_t *x = gs_calloc(1, sizeof *x);
    x->h = h;
    x->next = l->listeners;
    l->listeners = x;
    h->ext = x;
    h->flags |= IOCP_LISTENER;
    h->state = IO_HANDLE_ACTIVE;
    for (int i = 0; i < IOCP_ACCEPTS_POSTED; i++) x->acc[i].sock = INVALID_SOCKET;

    sock_addr_t local;
    int len = sizeof local.ss;
    if (getsockname(h->fd, (struct sockaddr *)&local.ss, &len) != 0) return sock_last_error();
    x->family = local.ss.ss_family;
    GUID accept_guid = WSAID_ACCEPTEX, addrs_guid = WSAID_GETACCEPTEXSOCKADDRS;
    DWORD got = 0;
    if (WSAIoctl(h->fd, SIO_GET_EXTENSION_FUNCTION_POINTER, &accept_guid, sizeof accept_guid, &x->accept_ex,
                 sizeof x->accept_ex, &got, NULL, NULL) != 0 ||
        WSAIoctl(h->fd, SIO_GET_EXTENSION_FUNCTION_POINTER, &addrs_guid, sizeof addrs_guid, &x->get_addrs,
                 sizeof x->get_addrs, &got, NULL, NULL) != 0)
        return sock_last_error();

    /* Workers share one listening socket through duplicated handles (sock_win.c), and a socket
     * belongs to one port only: the first worker here binds it to its port and reaps its accepts
     * directly. The others' AcceptExs signal an event instead, and a thread-pool wait turns that
     * into a packet on their own port: one thread hop more per accept, on those workers only. */
    x->direct = CreateIoCompletionPort((HANDLE)h->fd, l->port, IOCP_KEY_IO, 0) != NULL;
    if (x->direct) SetFileCompletionNotificationModes((HANDLE)h->fd, FILE_SKIP_SET_EVENT_ON_HANDLE);
    for (int i = 0; i < IOCP_ACCEPTS_POSTED; i++) {
        iocp_accept_t *a = &x->acc[i];
        a->loop = l;
        a->op.h = h;
        a->op.kind = IOCP_OP_ACCEPT;
        if (x->direct) continue;
        a->event = CreateEventW(NULL, FALSE, FALSE, NULL);
        if (!a->event ||
            !RegisterWaitForSingleObject(&a->wait, a->event, on_accept_signalled, a, INFINITE, WT_EXECUTEINWAITTHREAD))
            return win_errno(GetLastError());
    }
    int rc = post_idle_accepts(x);
    return x->unposted == IOCP_ACCEPTS_POSTED ? rc : 0;
}

static void close_handle_done(iocp_loop_t *l, io_handle_t *h);

static void on_accept_done(iocp_loop_t *l, iocp_accept_t *a) {
    io_handle_t *h = a->op.h;
    iocp_listen_ext_t *x = h->ext;
    a->op.pending = 0;
    h->inflight--;
    SOCKET s = a->sock;
    a->sock = INVALID_SOCKET;
    if (h->state != IO_HANDLE_ACTIVE) {
        /* An AcceptEx that completed as the listener closed holds a connection: refuse it with RST
         * (a graceful closesocket would send the first FIN). Harmless on a cancelled one. */
        sock_set_abortive(s);
        closesocket(s);
        if (h->state == IO_HANDLE_CLOSING && h->inflight == 0) close_handle_done(l, h);
        return;
    }
    DWORD got = 0, flags = 0;
    int rc = WSAGetOverlappedResult(h->fd, &a->op.ov, &got, FALSE, &flags) ? 0 : sock_last_error();
    /* The accepted socket takes the listener's options (buffers) and becomes a full socket. */
    if (rc == 0 && setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (const char *)&h->fd, sizeof h->fd) != 0)
        rc = sock_last_error();
    if (rc == 0) rc = sock_set_nonblocking(s);
    if (rc < 0) {
        sock_set_abortive(s);
        closesocket(s);
        /* A peer that reset before its accept completed is not the listener's error. */
        if (rc != -ECONNRESET && rc != -ECONNABORTED) deliver(l, IO_ACCEPTED, h, rc, NULL);
    } else {
        struct sockaddr *local = NULL, *remote = NULL;
        int llen = 0, rlen = 0;
        x->get_addrs(a->addrs, 0, IOCP_ADDR_LEN, IOCP_ADDR_LEN, &local, &llen, &remote, &rlen);
        sock_addr_t peer = { .len = 0 };
        if (remote && rlen > 0 && (size_t)rlen <= sizeof peer.ss) {
            memcpy(&peer.ss, remote, (size_t)rlen);
            peer.len = (uint32_t)rlen;
        }
        io_event_t ev = { .kind = IO_ACCEPTED, .handle = h, .res = 0, .accepted_fd = s, .peer = &peer };
        l->fn(l->ctx, &ev);
    }
    if (h->state != IO_HANDLE_ACTIVE) return; /* the callback closed the listener */
    rc = post_accept(x, a);
    if (rc < 0) {
        x->unposted++;
        deliver(l, IO_ACCEPTED, h, rc, NULL);
    }
}

static void retry_accepts(iocp_loop_t *l) {
    for (iocp_listen_ext_t *x = l->listeners; x; x = x->next) {
        if (!x->unposted || x->h->state != IO_HANDLE_ACTIVE) continue;
        int rc = post_idle_accepts(x);
        if (rc < 0) deliver(l, IO_ACCEPTED, x->h, rc, NULL);
    }
}

static bool accepts_starved(const iocp_loop_t *l) {
    for (const iocp_listen_ext_t *x = l->listeners; x; x = x->next)
        if (x->unposted && x->h->state == IO_HANDLE_ACTIVE) return true;
    return false;
}

/* ---- sessions ---- */

static int iocp_attach(io_loop_t *base, io_handle_t *h, sock_t fd, uint32_t user) {
    (void)base;
    io_handle_reset(h, fd, user);
    return 0;
}

/* First operation on a session: its extension from the pool, its socket bound to the port. */
static int session_prepare(iocp_loop_t *l, io_handle_t *h) {
    if (!h->ext) {
        iocp_session_ext_t *x = pool_get(&l->exts);
        memset(x, 0, sizeof *x);
        x->recv.h = x->send.h = h;
        x->recv.kind = IOCP_OP_RECV;
        x->send.kind = IOCP_OP_SEND;
        if (!l->zero_byte) x->buf = pool_get(&l->bufs);
        h->ext = x;
    }
    if (!(h->flags & IOCP_ASSOCIATED)) {
        /* A socket handed back to this loop (io.h: handover_any_loop) is bound to this port
         * already, and binding it again is refused: that refusal is the one to pass over. */
        if (!CreateIoCompletionPort((HANDLE)h->fd, l->port, IOCP_KEY_IO, 0) && GetLastError() != ERROR_INVALID_PARAMETER)
            return win_errno(GetLastError());
        /* Nobody waits on the socket handle itself: spare the kernel signalling it. */
        SetFileCompletionNotificationModes((HANDLE)h->fd, FILE_SKIP_SET_EVENT_ON_HANDLE);
        h->flags |= IOCP_ASSOCIATED;
    }
    return 0;
}

static int post_recv(iocp_loop_t *l, io_handle_t *h) {
    iocp_session_ext_t *x = h->ext;
    /* A zero-length buffer locks no pages: the completion only says "readable". */
    WSABUF b = { .len = l->zero_byte ? 0 : l->recv_len, .buf = (char *)(l->zero_byte ? l->scratch : x->buf) };
    DWORD flags = 0;
    memset(&x->recv.ov, 0, sizeof x->recv.ov);
    if (WSARecv(h->fd, &b, 1, NULL, &flags, &x->recv.ov, NULL) != 0) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) return win_errno((DWORD)err);
    }
    x->recv.pending = 1;
    h->inflight++;
    return 0;
}

static int iocp_recv_start(io_loop_t *base, io_handle_t *h) {
    iocp_loop_t *l = (iocp_loop_t *)base;
    if (h->state == IO_HANDLE_CLOSING || h->state == IO_HANDLE_CLOSED) return -EBADF;
    if (h->flags & IOCP_RECEIVING) return 0;
    int rc = session_prepare(l, h);
    if (rc < 0) return rc;
    h->flags |= IOCP_RECEIVING;
    h->state = IO_HANDLE_ACTIVE;
    iocp_session_ext_t *x = h->ext;
    return x->recv.pending ? 0 : post_recv(l, h);
}

static void on_recv_done(iocp_loop_t *l, io_handle_t *h) {
    iocp_session_ext_t *x = h->ext;
    x->recv.pending = 0;
    h->inflight--;
    if (h->state != IO_HANDLE_ACTIVE) {
        if (h->state == IO_HANDLE_CLOSING && h->inflight == 0) close_handle_done(l, h);
        return;
    }
    DWORD got = 0, flags = 0;
    int32_t res = WSAGetOverlappedResult(h->fd, &x->recv.ov, &got, FALSE, &flags) ? (int32_t)got : sock_last_error();
    const uint8_t *data = x->buf;
    if (res >= 0 && l->zero_byte) {
        /* One read per completion, as epoll reads once per readiness: fair under load. */
        int n = recv(h->fd, (char *)l->scratch, (int)l->recv_len, 0);
        res = n >= 0 ? n : sock_last_error();
        data = l->scratch;
        if (res == -EWOULDBLOCK) {
            res = post_recv(l, h); /* woken with nothing to read: wait again */
            if (res == 0) return;
        }
    }
    if (res <= 0) h->flags &= (uint8_t)~IOCP_RECEIVING; /* end of stream or error: no more reads */
    deliver(l, IO_RECEIVED, h, res, res > 0 ? data : NULL);
    if (h->state == IO_HANDLE_ACTIVE && (h->flags & IOCP_RECEIVING) && !x->recv.pending) {
        int rc = post_recv(l, h);
        if (rc < 0) {
            h->flags &= (uint8_t)~IOCP_RECEIVING;
            deliver(l, IO_RECEIVED, h, rc, NULL);
        }
    }
}

static int iocp_send(io_loop_t *base, io_handle_t *h, const uint8_t *buf, uint32_t len) {
    iocp_loop_t *l = (iocp_loop_t *)base;
    if (h->send_ptr) return -EBUSY;
    if (h->state == IO_HANDLE_CLOSING || h->state == IO_HANDLE_CLOSED) return -EBADF;
    int rc = session_prepare(l, h);
    if (rc < 0) return rc;
    iocp_session_ext_t *x = h->ext;
    WSABUF b = { .len = len, .buf = (char *)buf };
    memset(&x->send.ov, 0, sizeof x->send.ov);
    h->send_ptr = buf;
    h->send_len = len;
    h->send_done = 0;
    if (WSASend(h->fd, &b, 1, NULL, 0, &x->send.ov, NULL) != 0) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) {
            /* Reported like any send result, after this call returns. */
            h->send_ptr = NULL;
            h->send_len = 0;
            io_deferred_push(&l->deferred, IO_SENT, h, win_errno((DWORD)err));
            return 0;
        }
    }
    x->send.pending = 1;
    h->inflight++;
    return 0;
}

static void on_send_done(iocp_loop_t *l, io_handle_t *h) {
    iocp_session_ext_t *x = h->ext;
    x->send.pending = 0;
    h->inflight--;
    if (h->state != IO_HANDLE_ACTIVE && h->state != IO_HANDLE_IDLE) {
        if (h->state == IO_HANDLE_CLOSING && h->inflight == 0) close_handle_done(l, h);
        return;
    }
    DWORD got = 0, flags = 0;
    int32_t res = WSAGetOverlappedResult(h->fd, &x->send.ov, &got, FALSE, &flags) ? (int32_t)got : sock_last_error();
    h->send_ptr = NULL;
    h->send_len = h->send_done = 0;
    deliver(l, IO_SENT, h, res, NULL);
}

/* ---- closing ---- */

/* Every completion is in: the extension goes back to the pool before the caller may reuse the
 * handle's memory, and IO_CLOSED goes out after whatever was deferred for the handle before. */
static void close_handle_done(iocp_loop_t *l, io_handle_t *h) {
    if (h->flags & IOCP_LISTENER) {
        listen_ext_free(l, h->ext);
    } else if (h->ext) {
        iocp_session_ext_t *x = h->ext;
        if (x->buf) pool_put(&l->bufs, x->buf);
        pool_put(&l->exts, x);
    }
    h->ext = NULL;
    h->flags = 0;
    io_deferred_push(&l->deferred, IO_CLOSED, h, 0);
}

static int iocp_close(io_loop_t *base, io_handle_t *h, io_close_mode_t mode) {
    iocp_loop_t *l = (iocp_loop_t *)base;
    if (h->state == IO_HANDLE_CLOSING || h->state == IO_HANDLE_CLOSED) return -EALREADY;
    if (mode == IO_CLOSE_ABORT) sock_set_abortive(h->fd);
    if ((h->flags & IOCP_LISTENER) && h->ext) {
        /* Other workers hold handles on the same listening socket: cancel only this loop's
         * accepts, one by one, and the socket lives on until its last handle closes. */
        iocp_listen_ext_t *x = h->ext;
        for (int i = 0; i < IOCP_ACCEPTS_POSTED; i++)
            if (x->acc[i].op.pending) CancelIoEx((HANDLE)h->fd, &x->acc[i].op.ov);
    } else if (h->inflight) {
        CancelIoEx((HANDLE)h->fd, NULL);
    }
    /* Closed now, not when the cancellations are in: the FIN or RST leaves at once. */
    sock_close(h->fd);
    h->fd = SOCK_INVALID;
    h->send_ptr = NULL;
    h->send_len = h->send_done = 0;
    h->state = IO_HANDLE_CLOSING;
    if (h->inflight == 0) close_handle_done(l, h);
    return 0;
}

/* ---- the loop ---- */

static int iocp_wake(io_loop_t *base) {
    iocp_loop_t *l = (iocp_loop_t *)base;
    return PostQueuedCompletionStatus(l->port, 0, IOCP_KEY_WAKE, NULL) ? 0 : win_errno(GetLastError());
}

static int iocp_run_once(io_loop_t *base, int timeout_ms) {
    iocp_loop_t *l = (iocp_loop_t *)base;
    bool starved = l->listeners && accepts_starved(l);
    if (starved) retry_accepts(l);
    DWORD wait = io_deferred_pending(&l->deferred) ? 0 : timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
    if (starved && wait > IOCP_ACCEPT_RETRY_MS) wait = IOCP_ACCEPT_RETRY_MS;
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(l->port, l->entries, l->max_events, &n, wait, FALSE)) {
        DWORD err = GetLastError();
        if (err != WAIT_TIMEOUT) return win_errno(err);
        n = 0;
    }
    for (ULONG i = 0; i < n; i++) {
        const OVERLAPPED_ENTRY *e = &l->entries[i];
        if (e->lpCompletionKey == IOCP_KEY_WAKE) {
            deliver(l, IO_WOKEN, NULL, 0, NULL);
            continue;
        }
        iocp_op_t *op = (iocp_op_t *)e->lpOverlapped;
        switch ((iocp_op_kind_t)op->kind) {
        case IOCP_OP_ACCEPT:
            /* Another worker's accept can reach this port only from a stack that ignores the
             * event's low bit; its owner reaps it through the event. */
            if (((iocp_accept_t *)op)->loop == l) on_accept_done(l, (iocp_accept_t *)op);
            break;
        case IOCP_OP_RECV:
            on_recv_done(l, op->h);
            break;
        case IOCP_OP_SEND:
            on_send_done(l, op->h);
            break;
        }
    }
    return (int)n + (int)io_deferred_deliver(&l->deferred, l->fn, l->ctx);
}

static void iocp_loop_close(io_loop_t *base) {
    iocp_loop_t *l = (iocp_loop_t *)base;
    if (!l) return;
    /* A listener still open (a worker that failed mid-way): its accepts may be in flight, and
     * their OVERLAPPEDs must outlive them. The waits go first, so this thread reaps them. */
    while (l->listeners) {
        iocp_listen_ext_t *x = l->listeners;
        for (int i = 0; i < IOCP_ACCEPTS_POSTED; i++) {
            iocp_accept_t *a = &x->acc[i];
            if (a->wait) UnregisterWaitEx(a->wait, INVALID_HANDLE_VALUE);
            a->wait = NULL;
            if (!a->op.pending) continue;
            if (x->h->state == IO_HANDLE_ACTIVE) CancelIoEx((HANDLE)x->h->fd, &a->op.ov);
            /* The status is written before the event is set or the packet queued, so it is what
             * to wait on, whichever way the completion is notified. */
            while (!HasOverlappedIoCompleted(&a->op.ov)) {
                if (a->event) WaitForSingleObject(a->event, IOCP_ACCEPT_RETRY_MS);
                else Sleep(1);
            }
            a->op.pending = 0;
        }
        listen_ext_free(l, x);
    }
    if (l->port) CloseHandle(l->port);
    gs_free(l->scratch);
    gs_free(l->entries);
    pool_destroy(&l->exts);
    pool_destroy(&l->bufs);
    io_deferred_free(&l->deferred);
    gs_free(l);
}

static int iocp_loop_open(io_loop_t **out, const io_loop_config_t *cfg, io_event_fn fn, void *ctx) {
    int rc = win_wsa_init();
    if (rc < 0) return rc;
    iocp_loop_t *l = gs_calloc(1, sizeof *l);
    l->base.ops = &io_iocp_ops;
    l->fn = fn;
    l->ctx = ctx;
    /* Concurrency 1: the port belongs to this loop's thread alone. */
    l->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!l->port) {
        rc = win_errno(GetLastError());
        iocp_loop_close(&l->base);
        return rc;
    }
    const char *mode = getenv("GSKEL_IOCP_RECV");
    l->zero_byte = !(mode && strcmp(mode, "buffered") == 0);
    l->recv_len = cfg->recv_buffer_bytes;
    l->max_events = cfg->max_events;
    l->entries = gs_calloc(l->max_events, sizeof *l->entries);
    /* Slabs of 64 extensions: a worker's sessions arrive in bursts, never one by one for long. */
    pool_init(&l->exts, sizeof(iocp_session_ext_t), 64);
    if (l->zero_byte) {
        l->scratch = gs_malloc(l->recv_len);
        snprintf(l->desc, sizeof l->desc,
                 "iocp, one port per worker, zero-byte WSARecv then one %u-byte receive buffer per worker, "
                 "%d AcceptEx posted",
                 l->recv_len, IOCP_ACCEPTS_POSTED);
    } else {
        pool_init(&l->bufs, l->recv_len, 16);
        snprintf(l->desc, sizeof l->desc,
                 "iocp, one port per worker, one %u-byte WSARecv buffer per connection, %d AcceptEx posted",
                 l->recv_len, IOCP_ACCEPTS_POSTED);
    }
    *out = &l->base;
    return 0;
}

const io_backend_ops_t io_iocp_ops = {
    .name = "iocp",
    .probe = iocp_probe,
    .loop_open = iocp_loop_open,
    .loop_close = iocp_loop_close,
    .attach = iocp_attach,
    .accept_start = iocp_accept_start,
    .recv_start = iocp_recv_start,
    .send = iocp_send,
    .close = iocp_close,
    .run_once = iocp_run_once,
    .wake = iocp_wake,
    .describe = iocp_describe,
};

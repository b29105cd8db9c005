/* The epoll backend: turns readiness into the completions of io.h.
 * Level-triggered, one recv per ready socket per loop turn (fair under load) into one scratch
 * buffer per loop, so an idle connection owns no receive memory. Sends are tried at once and
 * finished on EPOLLOUT; their completions, and every IO_CLOSED, are deferred to the end of the
 * loop turn so a caller never re-enters itself from inside io_send or io_close. */
#define _GNU_SOURCE /* accept4, CPU sets, pthread_setname_np */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "alloc.h"
#include "io_deferred.h"

enum {
    EP_LISTENER = 1 << 0,   /* accept on readable */
    EP_RECEIVING = 1 << 1,  /* recv on readable */
    EP_WANT_OUT = 1 << 2,   /* a send is waiting for EPOLLOUT */
    EP_REGISTERED = 1 << 3, /* in the epoll set */
};

/* Accepts per ready listener per turn: bounded so a connect storm cannot starve sessions. */
#define EP_ACCEPT_BATCH 64

typedef struct epoll_loop {
    io_loop_t base;
    int epfd;
    int wakefd;
    int spare_fd; /* kept open to shed a connection when the fd table is full (EMFILE) */
    io_event_fn fn;
    void *ctx;
    uint8_t *scratch;
    uint32_t scratch_len;
    struct epoll_event *evs;
    uint32_t max_events;
    io_deferred_t deferred;
    uint32_t emitted; /* events delivered this turn: io_run_once's result */
    char desc[160];
} epoll_loop_t;

static void emit(epoll_loop_t *l, const io_event_t *ev) {
    l->emitted++;
    l->fn(l->ctx, ev);
}

static int epoll_probe(char *why, size_t why_len) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "epoll_create1: %s", strerror(errno));
        return -errno;
    }
    close(fd);
    return 0;
}

static int update_interest(epoll_loop_t *l, io_handle_t *h) {
    struct epoll_event ev = { .events = 0, .data.ptr = h };
    if (h->flags & (EP_LISTENER | EP_RECEIVING)) ev.events |= EPOLLIN | EPOLLRDHUP;
    if (h->flags & EP_WANT_OUT) ev.events |= EPOLLOUT;
    int op = (h->flags & EP_REGISTERED) ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, h->fd, &ev) < 0) return -errno;
    h->flags |= EP_REGISTERED;
    return 0;
}

static const char *epoll_describe(io_loop_t *base) { return ((epoll_loop_t *)base)->desc; }

static void epoll_loop_close(io_loop_t *base) {
    epoll_loop_t *l = (epoll_loop_t *)base;
    if (!l) return;
    if (l->epfd >= 0) close(l->epfd);
    if (l->wakefd >= 0) close(l->wakefd);
    if (l->spare_fd >= 0) close(l->spare_fd);
    gs_free(l->scratch);
    gs_free(l->evs);
    io_deferred_free(&l->deferred);
    gs_free(l);
}

extern const io_backend_ops_t io_epoll_ops;

static int epoll_loop_open(io_loop_t **out, const io_loop_config_t *cfg, io_event_fn fn, void *ctx) {
    epoll_loop_t *l = gs_calloc(1, sizeof *l);
    l->base.ops = &io_epoll_ops;
    l->fn = fn;
    l->ctx = ctx;
    l->wakefd = l->spare_fd = -1;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) goto fail;
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wakefd < 0) goto fail;
    /* The wake eventfd is told apart by its data pointer: the loop itself. */
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0) goto fail;
    l->spare_fd = sock_spare_open();
    l->scratch_len = cfg->recv_buffer_bytes;
    l->scratch = gs_malloc(l->scratch_len);
    l->max_events = cfg->max_events;
    l->evs = gs_calloc(l->max_events, sizeof *l->evs);
    snprintf(l->desc, sizeof l->desc, "epoll level-triggered, one %u-byte receive buffer per worker",
             l->scratch_len);
    *out = &l->base;
    return 0;
fail:;
    int rc = -errno;
    epoll_loop_close(&l->base);
    return rc;
}

static int epoll_accept_start(io_loop_t *base, io_handle_t *h) {
    h->flags |= EP_LISTENER;
    h->state = IO_HANDLE_ACTIVE;
    return update_interest((epoll_loop_t *)base, h);
}

static int epoll_recv_start(io_loop_t *base, io_handle_t *h) {
    if (h->state == IO_HANDLE_CLOSING || h->state == IO_HANDLE_CLOSED) return -EBADF;
    h->flags |= EP_RECEIVING;
    h->state = IO_HANDLE_ACTIVE;
    return update_interest((epoll_loop_t *)base, h);
}

/* Writes what the kernel takes now. Returns 1 when the send is complete, 0 when it must wait
 * for EPOLLOUT, -errno on failure. */
static int send_some(io_handle_t *h) {
    while (h->send_done < h->send_len) {
        ssize_t n = send(h->fd, h->send_ptr + h->send_done, h->send_len - h->send_done, MSG_NOSIGNAL);
        if (n > 0) {
            h->send_done += (uint32_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            return n < 0 ? -errno : -EPIPE;
        }
    }
    return 1;
}

/* The send's result. send_ptr stays set (io_send_busy) until IO_SENT is delivered, so the caller
 * cannot start another send over bytes whose completion it has not yet seen. */
static int32_t finish_send(io_handle_t *h, int rc) {
    int32_t res = rc < 0 ? rc : (int32_t)h->send_done;
    h->send_len = h->send_done = 0;
    return res;
}

static int epoll_send(io_loop_t *base, io_handle_t *h, const uint8_t *buf, uint32_t len) {
    epoll_loop_t *l = (epoll_loop_t *)base;
    if (h->send_ptr) return -EBUSY;
    if (h->state == IO_HANDLE_CLOSING || h->state == IO_HANDLE_CLOSED) return -EBADF;
    h->send_ptr = buf;
    h->send_len = len;
    h->send_done = 0;
    int rc = send_some(h);
    if (rc != 0) {
        io_deferred_push(&l->deferred, IO_SENT, h, finish_send(h, rc));
        return 0;
    }
    h->flags |= EP_WANT_OUT;
    return update_interest(l, h);
}

static int epoll_close(io_loop_t *base, io_handle_t *h, io_close_mode_t mode) {
    epoll_loop_t *l = (epoll_loop_t *)base;
    if (h->state == IO_HANDLE_CLOSING || h->state == IO_HANDLE_CLOSED) return -EALREADY;
    if (mode == IO_CLOSE_ABORT) sock_set_abortive(h->fd);
    /* Nothing is in flight in the kernel for epoll: close() also drops the fd from the set, unless
     * another descriptor of the socket lives on (a hand-over), which keeps it there. */
    if (mode == IO_CLOSE_RELEASE && (h->flags & EP_REGISTERED)) epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
    close(h->fd);
    h->fd = SOCK_INVALID;
    h->send_ptr = NULL;
    h->flags = 0;
    h->state = IO_HANDLE_CLOSING;
    io_deferred_push(&l->deferred, IO_CLOSED, h, 0);
    return 0;
}

static int epoll_wake(io_loop_t *base) {
    uint64_t one = 1;
    return write(((epoll_loop_t *)base)->wakefd, &one, sizeof one) < 0 && errno != EAGAIN ? -errno : 0;
}

static void on_listener_ready(epoll_loop_t *l, io_handle_t *h) {
    for (int i = 0; i < EP_ACCEPT_BATCH && h->state == IO_HANDLE_ACTIVE; i++) {
        sock_addr_t peer = { .len = sizeof peer.ss };
        socklen_t plen = sizeof peer.ss;
        int fd = accept4(h->fd, (struct sockaddr *)&peer.ss, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            int err = -errno;
            /* Level-triggered accept would spin on a full fd table. */
            if (err == -EMFILE || err == -ENFILE) sock_accept_shed(h->fd, &l->spare_fd);
            io_event_t ev = { .kind = IO_ACCEPTED, .handle = h, .res = err, .accepted_fd = SOCK_INVALID };
            emit(l, &ev);
            return;
        }
        peer.len = plen;
        io_event_t ev = { .kind = IO_ACCEPTED, .handle = h, .res = 0, .accepted_fd = fd, .peer = &peer };
        emit(l, &ev);
    }
}

static void on_socket_ready(epoll_loop_t *l, io_handle_t *h, uint32_t events) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && (h->flags & EP_WANT_OUT)) {
        int rc = send_some(h);
        if (rc != 0) {
            h->flags &= (uint8_t)~EP_WANT_OUT;
            update_interest(l, h);
            io_event_t ev = { .kind = IO_SENT, .handle = h, .res = finish_send(h, rc) };
            h->send_ptr = NULL;
            emit(l, &ev);
        }
    }
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) || !(h->flags & EP_RECEIVING)) return;
    if (h->state != IO_HANDLE_ACTIVE) return; /* closed by the send completion above */
    ssize_t n;
    do {
        n = recv(h->fd, l->scratch, l->scratch_len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    io_event_t ev = { .kind = IO_RECEIVED, .handle = h, .res = n < 0 ? -errno : (int32_t)n, .data = l->scratch };
    if (n == 0) h->flags &= (uint8_t)~EP_RECEIVING; /* end of stream: no more reads */
    emit(l, &ev);
    if (n == 0 && h->state == IO_HANDLE_ACTIVE) update_interest(l, h);
}

static int epoll_run_once(io_loop_t *base, int timeout_ms) {
    epoll_loop_t *l = (epoll_loop_t *)base;
    /* What the last turn owes comes first: a send that failed with ECONNRESET there cleared the
     * socket's error, and a readiness seen now would read 0 and pass a reset off as a FIN. */
    l->emitted = 0;
    uint32_t early = io_deferred_deliver(&l->deferred, l->fn, l->ctx);
    /* Anything delivered already hands control back this turn: the caller re-checks its state. */
    int n = epoll_wait(l->epfd, l->evs, (int)l->max_events, early || io_deferred_pending(&l->deferred) ? 0 : timeout_ms);
    if (n < 0) {
        if (errno != EINTR) return -errno;
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        void *ptr = l->evs[i].data.ptr;
        if (ptr == l) {
            uint64_t v; /* one read takes every wake since the last (the counter resets) */
            ssize_t got = read(l->wakefd, &v, sizeof v);
            (void)got;
            io_event_t ev = { .kind = IO_WOKEN };
            emit(l, &ev);
            continue;
        }
        io_handle_t *h = ptr;
        if (h->flags & EP_LISTENER) on_listener_ready(l, h);
        else if (h->state == IO_HANDLE_ACTIVE || h->state == IO_HANDLE_IDLE) on_socket_ready(l, h, l->evs[i].events);
    }
    return (int)(l->emitted + early + io_deferred_deliver(&l->deferred, l->fn, l->ctx));
}

const io_backend_ops_t io_epoll_ops = {
    .name = "epoll",
    .probe = epoll_probe,
    .loop_open = epoll_loop_open,
    .loop_close = epoll_loop_close,
    .attach = io_attach_plain,
    .accept_start = epoll_accept_start,
    .recv_start = epoll_recv_start,
    .send = epoll_send,
    .close = epoll_close,
    .run_once = epoll_run_once,
    .wake = epoll_wake,
    .describe = epoll_describe,
    .handover_any_loop = true,
};

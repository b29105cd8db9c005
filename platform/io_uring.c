/* The io_uring backend (liburing): completions natively.
 * Multishot accept; multishot recv into one ring of provided buffers per loop (an idle
 * connection owns no receive buffer); sends prepared during a loop turn and submitted together
 * with the next wait (one io_uring_enter per turn). The ring is created on the worker thread that
 * uses it, with SINGLE_ISSUER|DEFER_TASKRUN where the kernel has them, else COOP_TASKRUN, else
 * plain. Closing: every request on the socket is ended and reaped before close(), since closing
 * with a multishot recv still armed delays the RST until the recv is torn down; and each is ended
 * without a search of the ring's requests (stop_requests), so a close costs the same whatever the
 * number of connections. */
#define _GNU_SOURCE
#include "io.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "io_deferred.h"

/* What a completion is for, in the low bits of user_data (handles are 8-byte aligned). */
enum { TAG_ACCEPT = 1, TAG_RECV = 2, TAG_SEND = 3, TAG_CANCEL = 4, TAG_WAKE = 5, TAG_MASK = 7 };

enum {
    UR_LISTENER = 1 << 0,
    UR_WANT_RECV = 1 << 1, /* recv_start called and no end of stream yet: keep a recv armed */
    UR_ARMED = 1 << 2,     /* a multishot accept/recv is in the kernel */
};

#define UR_BGID 1
#define UR_SQ_ENTRIES 1024u

typedef struct uring_loop {
    io_loop_t base;
    struct io_uring ring;
    bool ring_ready;
    unsigned setup_flags;
    io_event_fn fn;
    void *ctx;
    struct io_uring_buf_ring *br;
    size_t br_bytes;
    uint8_t *bufs;
    uint32_t buf_size, buf_count;
    int wakefd;
    uint64_t wake_value;
    int spare_fd;
    uint32_t max_events;
    io_deferred_t deferred;
    uint32_t emitted; /* events delivered this turn: io_run_once's result */
    uint32_t held;      /* requests of this loop the kernel holds (or will once submitted) */
    uint32_t hash_bits; /* log2 of the buckets of the kernel's cancel table for this ring */
    io_handle_t **rearm; /* recvs stopped by an empty buffer ring, re-armed at the turn's end */
    uint32_t rearm_count, rearm_cap;
    char desc[200];
} uring_loop_t;

static void emit(uring_loop_t *l, const io_event_t *ev) {
    l->emitted++;
    l->fn(l->ctx, ev);
}

static uint64_t ud(const void *p, unsigned tag) { return (uint64_t)(uintptr_t)p | tag; }

/* A request for h whose final completion is still to come. */
static void hold(uring_loop_t *l, io_handle_t *h) {
    h->inflight++;
    l->held++;
}

/* Setup flags to try, best first: each later set needs an older kernel. */
static const unsigned setup_choices[] = {
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
    0,
};

static int ring_init(struct io_uring *ring, unsigned entries, unsigned *flags_used) {
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof setup_choices / sizeof setup_choices[0]; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = setup_choices[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 4;
        rc = io_uring_queue_init_params(entries, ring, &p);
        if (rc == 0) {
            *flags_used = setup_choices[i];
            return 0;
        }
        if (rc != -EINVAL) return rc; /* ENOSYS, EPERM (io_uring_disabled, seccomp), ENOMEM */
    }
    return rc;
}

/* The kernel sizes a ring's cancel table from its CQ: 2^(log2(cq_entries) - 5) buckets, between
 * 2 and 256 (io_ring_ctx_alloc). */
static uint32_t cancel_hash_bits(unsigned cq_entries) {
    uint32_t log2 = 0;
    while ((2u << log2) <= cq_entries) log2++;
    return log2 < 6 ? 1 : log2 > 13 ? 8 : log2 - 5;
}

static const char *setup_name(unsigned f) {
    if (f & IORING_SETUP_DEFER_TASKRUN) return "SINGLE_ISSUER|DEFER_TASKRUN";
    if (f & IORING_SETUP_COOP_TASKRUN) return "COOP_TASKRUN";
    return "plain";
}

static struct io_uring_sqe *get_sqe(struct io_uring *ring) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) {
        /* SQ full mid-turn: hand what we have to the kernel and go on. */
        io_uring_submit(ring);
        sqe = io_uring_get_sqe(ring);
    }
    return sqe;
}

static int buffers_setup(uring_loop_t *l) {
    l->br_bytes = l->buf_count * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, l->br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return -errno;
    l->br = mem;
    struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)mem, .ring_entries = l->buf_count, .bgid = UR_BGID };
    int rc = io_uring_register_buf_ring(&l->ring, &reg, 0);
    if (rc < 0) return rc;
    io_uring_buf_ring_init(l->br);
    l->bufs = gs_malloc((size_t)l->buf_count * l->buf_size);
    int mask = io_uring_buf_ring_mask(l->buf_count);
    for (uint32_t i = 0; i < l->buf_count; i++)
        io_uring_buf_ring_add(l->br, l->bufs + (size_t)i * l->buf_size, l->buf_size, (unsigned short)i, mask, (int)i);
    io_uring_buf_ring_advance(l->br, (int)l->buf_count);
    return 0;
}

static void buffer_recycle(uring_loop_t *l, unsigned bid) {
    io_uring_buf_ring_add(l->br, l->bufs + (size_t)bid * l->buf_size, l->buf_size, (unsigned short)bid,
                          io_uring_buf_ring_mask(l->buf_count), 0);
    io_uring_buf_ring_advance(l->br, 1);
}

static void arm_recv(uring_loop_t *l, io_handle_t *h) {
    struct io_uring_sqe *sqe = get_sqe(&l->ring);
    io_uring_prep_recv_multishot(sqe, h->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = UR_BGID;
    io_uring_sqe_set_data64(sqe, ud(h, TAG_RECV));
    h->flags |= UR_ARMED;
    hold(l, h);
}

static void arm_accept(uring_loop_t *l, io_handle_t *h) {
    struct io_uring_sqe *sqe = get_sqe(&l->ring);
    io_uring_prep_multishot_accept(sqe, h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, ud(h, TAG_ACCEPT));
    h->flags |= UR_ARMED;
    hold(l, h);
}

static void arm_wake(uring_loop_t *l) {
    struct io_uring_sqe *sqe = get_sqe(&l->ring);
    io_uring_prep_read(sqe, l->wakefd, &l->wake_value, sizeof l->wake_value, 0);
    io_uring_sqe_set_data64(sqe, ud(l, TAG_WAKE));
    l->held++;
}

/* Start-up probe, run once on the main thread: a ring, a buffer ring, and a multishot recv that
 * really delivers, so `auto` falls back to epoll on kernels that lack any of them. */
static int uring_probe(char *why, size_t why_len) {
    struct io_uring ring;
    unsigned flags;
    int rc = ring_init(&ring, 8, &flags);
    if (rc < 0) {
        snprintf(why, why_len, "io_uring_queue_init: %s", strerror(-rc));
        return rc;
    }
    int sv[2] = { -1, -1 };
    void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t buf[64];
    struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)mem, .ring_entries = 1, .bgid = UR_BGID };
    if (mem == MAP_FAILED || (rc = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
        snprintf(why, why_len, "provided buffer rings unsupported: %s", strerror(rc < 0 ? -rc : ENOMEM));
        goto out;
    }
    io_uring_buf_ring_init(mem);
    io_uring_buf_ring_add(mem, buf, sizeof buf, 0, io_uring_buf_ring_mask(1), 0);
    io_uring_buf_ring_advance(mem, 1);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        rc = -errno;
        snprintf(why, why_len, "socketpair: %s", strerror(errno));
        goto out;
    }
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = UR_BGID;
    if (write(sv[1], "x", 1) != 1) {
        rc = -errno;
        goto out;
    }
    struct io_uring_cqe *cqe = NULL;
    struct __kernel_timespec ts = { .tv_sec = 2 };
    rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
    if (rc >= 0 && cqe && cqe->res == 1 && (cqe->flags & IORING_CQE_F_MORE)) {
        rc = 0;
    } else {
        snprintf(why, why_len, "multishot recv unsupported (res %d)", cqe ? cqe->res : rc);
        rc = -ENOTSUP;
    }
out:
    if (sv[0] >= 0) close(sv[0]);
    if (sv[1] >= 0) close(sv[1]);
    io_uring_queue_exit(&ring);
    if (mem != MAP_FAILED) munmap(mem, 4096);
    return rc;
}

static const char *uring_describe(io_loop_t *base) { return ((uring_loop_t *)base)->desc; }

static void uring_loop_close(io_loop_t *base) {
    uring_loop_t *l = (uring_loop_t *)base;
    if (l->ring_ready) io_uring_queue_exit(&l->ring);
    if (l->br) munmap(l->br, l->br_bytes);
    if (l->wakefd >= 0) close(l->wakefd);
    if (l->spare_fd >= 0) close(l->spare_fd);
    gs_free(l->bufs);
    gs_free(l->rearm);
    io_deferred_free(&l->deferred);
    gs_free(l);
}

extern const io_backend_ops_t io_uring_ops;

static int uring_loop_open(io_loop_t **out, const io_loop_config_t *cfg, io_event_fn fn, void *ctx) {
    uring_loop_t *l = gs_calloc(1, sizeof *l);
    l->base.ops = &io_uring_ops;
    l->fn = fn;
    l->ctx = ctx;
    l->wakefd = l->spare_fd = -1;
    l->max_events = cfg->max_events;
    l->buf_size = cfg->recv_buffer_bytes;
    l->buf_count = cfg->recv_buffers;
    int rc = ring_init(&l->ring, UR_SQ_ENTRIES, &l->setup_flags);
    if (rc < 0) goto fail;
    l->ring_ready = true;
    l->hash_bits = cancel_hash_bits(l->ring.cq.ring_entries);
    if ((rc = buffers_setup(l)) < 0) goto fail;
    l->wakefd = eventfd(0, EFD_CLOEXEC);
    if (l->wakefd < 0) {
        rc = -errno;
        goto fail;
    }
    l->spare_fd = sock_spare_open();
    l->rearm_cap = 64;
    l->rearm = gs_malloc(l->rearm_cap * sizeof *l->rearm);
    arm_wake(l);
    snprintf(l->desc, sizeof l->desc, "io_uring %s, multishot accept+recv, %u provided buffers x %u B",
             setup_name(l->setup_flags), l->buf_count, l->buf_size);
    *out = &l->base;
    return 0;
fail:
    uring_loop_close(&l->base);
    return rc;
}

static int uring_accept_start(io_loop_t *base, io_handle_t *h) {
    h->flags |= UR_LISTENER;
    h->state = IO_HANDLE_ACTIVE;
    arm_accept((uring_loop_t *)base, h);
    return 0;
}

static int uring_recv_start(io_loop_t *base, io_handle_t *h) {
    if (h->state == IO_HANDLE_CLOSING || h->state == IO_HANDLE_CLOSED) return -EBADF;
    h->state = IO_HANDLE_ACTIVE;
    h->flags |= UR_WANT_RECV;
    if (!(h->flags & UR_ARMED)) arm_recv((uring_loop_t *)base, h);
    return 0;
}

static int uring_send(io_loop_t *base, io_handle_t *h, const uint8_t *buf, uint32_t len) {
    uring_loop_t *l = (uring_loop_t *)base;
    if (h->send_ptr) return -EBUSY;
    if (h->state == IO_HANDLE_CLOSING || h->state == IO_HANDLE_CLOSED) return -EBADF;
    struct io_uring_sqe *sqe = get_sqe(&l->ring);
    io_uring_prep_send(sqe, h->fd, buf, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, ud(h, TAG_SEND));
    h->send_ptr = buf;
    h->send_len = len;
    hold(l, h);
    return 0;
}

/* The caller may free h once IO_CLOSED is delivered. The re-arm list may still point at h here,
 * but it is emptied before the turn's IO_CLOSEDs go out (uring_run_once), so nothing is looked
 * up or removed for it. */
static void finish_close(uring_loop_t *l, io_handle_t *h) {
    if (h->fd == SOCK_INVALID) return; /* already finished (closed from inside a callback) */
    close(h->fd);
    h->fd = SOCK_INVALID;
    io_deferred_push(&l->deferred, IO_CLOSED, h, 0);
}

/* Cancels h's request `tag` by its user_data, which the kernel finds in one bucket of its hash
 * table. Never by fd (IORING_ASYNC_CANCEL_FD, ALL or not): that walks every request the ring
 * holds, so a storm of N kicks cost O(N^2). */
static void cancel_request(uring_loop_t *l, io_handle_t *h, unsigned tag) {
    struct io_uring_sqe *sqe = get_sqe(&l->ring);
    io_uring_prep_cancel64(sqe, ud(h, tag), 0);
    io_uring_sqe_set_data64(sqe, ud(h, TAG_CANCEL));
    hold(l, h);
}

/* Ends every request h has in the kernel; each then completes (its result or an error) and the
 * close happens when the last is reaped. None is looked for among the ring's requests: an abort
 * resets the connection now (RST, queues dropped), and the socket's own wait queue wakes its
 * recv and send, which fail; a normal close stops the reading side (nothing on the wire), which
 * ends the recv the same way. Only a send still in the kernel at a normal close, and a
 * listener's accept, are cancelled, by user_data. */
static void stop_requests(uring_loop_t *l, io_handle_t *h, io_close_mode_t mode, bool sending) {
    if (h->flags & UR_LISTENER) {
        cancel_request(l, h, TAG_ACCEPT);
        return;
    }
    if (mode == IO_CLOSE_RELEASE) {
        /* The socket goes on elsewhere: only this ring's requests end, by user_data. */
        if (h->flags & UR_ARMED) cancel_request(l, h, TAG_RECV);
        if (sending) cancel_request(l, h, TAG_SEND);
        return;
    }
    if (mode == IO_CLOSE_ABORT) {
        if (sock_reset_now(h->fd) == 0) return;
        /* Refused (EBUSY: a request of h blocks in an io-wq worker): close() resets under
         * SO_LINGER {1,0} instead, once every request is in. */
        sock_set_abortive(h->fd);
    }
    if ((h->flags & UR_ARMED) && sock_stop_reading(h->fd) < 0) cancel_request(l, h, TAG_RECV);
    if (sending) cancel_request(l, h, TAG_SEND);
}

#ifndef IORING_ASYNC_CANCEL_OP
#define IORING_ASYNC_CANCEL_OP (1U << 5) /* kernel 6.6; liburing 2.3 predates it */
#endif

/* The entries the kernel searches for a cancel (io_uring/cancel.c, poll.c of kernel 6.18): keyed
 * by user_data alone, one bucket of a table of 2^hash_bits; keyed by fd, opcode or ANY, every
 * request the ring holds (io_poll_file_find), once more for each match with ALL. */
static uint64_t cancel_search(const uring_loop_t *l, const struct io_uring_sqe *sqe) {
    if (sqe->opcode != IORING_OP_ASYNC_CANCEL) return 0;
    if (!(sqe->cancel_flags & (IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_OP | IORING_ASYNC_CANCEL_ANY)))
        return 1 + (l->held >> l->hash_bits);
    return (uint64_t)l->held * ((sqe->cancel_flags & IORING_ASYNC_CANCEL_ALL) ? 2 : 1);
}

static int uring_close(io_loop_t *base, io_handle_t *h, io_close_mode_t mode) {
    uring_loop_t *l = (uring_loop_t *)base;
    if (h->state == IO_HANDLE_CLOSING || h->state == IO_HANDLE_CLOSED) return -EALREADY;
    bool sending = h->send_ptr != NULL;
    h->state = IO_HANDLE_CLOSING;
    h->send_ptr = NULL;
    h->flags &= (uint8_t)~UR_WANT_RECV;
    if (h->inflight == 0) {
        if (mode == IO_CLOSE_ABORT) sock_set_abortive(h->fd);
        finish_close(l, h);
        return 0;
    }
    /* What the close asks of the kernel is read off the requests it prepares (io.h:
     * close_visits), whichever helper prepared them. */
    unsigned from = l->ring.sq.sqe_tail;
    stop_requests(l, h, mode, sending);
    for (unsigned i = from; i != l->ring.sq.sqe_tail; i++)
        l->base.close_visits += cancel_search(l, &l->ring.sq.sqes[i & l->ring.sq.ring_mask]);
    return 0;
}

static int uring_wake(io_loop_t *base) {
    uint64_t one = 1;
    return write(((uring_loop_t *)base)->wakefd, &one, sizeof one) < 0 && errno != EAGAIN ? -errno : 0;
}

static void rearm_later(uring_loop_t *l, io_handle_t *h) {
    if (l->rearm_count == l->rearm_cap) {
        l->rearm_cap *= 2;
        l->rearm = gs_realloc(l->rearm, l->rearm_cap * sizeof *l->rearm);
    }
    l->rearm[l->rearm_count++] = h;
}

static void on_accept_cqe(uring_loop_t *l, io_handle_t *h, int res, bool final) {
    if (final) h->flags &= (uint8_t)~UR_ARMED;
    if (res >= 0) {
        sock_addr_t peer = { .len = 0 };
        /* Multishot accept cannot return addresses; a connection already reset has none left
         * to read, and is delivered with an empty peer (io.h) so its end is still seen. */
        if (sock_peer(res, &peer) < 0) peer.len = 0;
        io_event_t ev = { .kind = IO_ACCEPTED, .handle = h, .res = 0, .accepted_fd = res, .peer = &peer };
        emit(l, &ev);
    } else if (res != -ECANCELED) {
        if (res == -EMFILE || res == -ENFILE) sock_accept_shed(h->fd, &l->spare_fd);
        io_event_t ev = { .kind = IO_ACCEPTED, .handle = h, .res = res, .accepted_fd = SOCK_INVALID };
        emit(l, &ev);
    }
    if (final && h->state == IO_HANDLE_ACTIVE) arm_accept(l, h);
}

static void on_recv_cqe(uring_loop_t *l, io_handle_t *h, const struct io_uring_cqe *cqe, bool final) {
    int res = cqe->res;
    if (final) h->flags &= (uint8_t)~UR_ARMED;
    if (res == -ENOBUFS) {
        /* Every buffer is out this turn; they come back as their completions are handled. */
        if (final && (h->flags & UR_WANT_RECV)) rearm_later(l, h);
        return;
    }
    if (res <= 0) h->flags &= (uint8_t)~UR_WANT_RECV;
    io_event_t ev = { .kind = IO_RECEIVED, .handle = h, .res = res };
    if (res > 0) ev.data = l->bufs + (size_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT) * l->buf_size;
    emit(l, &ev);
    if (final && h->state == IO_HANDLE_ACTIVE && (h->flags & UR_WANT_RECV) && !(h->flags & UR_ARMED)) arm_recv(l, h);
}

static void on_cqe(uring_loop_t *l, const struct io_uring_cqe *cqe) {
    unsigned tag = (unsigned)(cqe->user_data & TAG_MASK);
    bool final = !(cqe->flags & IORING_CQE_F_MORE);
    if (final) l->held--;
    if (tag == TAG_WAKE) {
        arm_wake(l);
        io_event_t ev = { .kind = IO_WOKEN };
        emit(l, &ev);
        return;
    }
    io_handle_t *h = (io_handle_t *)(uintptr_t)(cqe->user_data & ~(uint64_t)TAG_MASK);
    if (final) h->inflight--;
    bool has_buf = (cqe->flags & IORING_CQE_F_BUFFER) != 0;
    if (h->state == IO_HANDLE_CLOSING) {
        /* Nothing but IO_CLOSED is delivered now; give back what the completion carried. */
        if (tag == TAG_ACCEPT && cqe->res >= 0) {
            /* Accepted as the listener was closing: refused with RST like every connection the
             * server turns away. A plain close() would send the first FIN and leave TIME_WAIT. */
            sock_set_abortive(cqe->res);
            close(cqe->res);
        }
        if (tag == TAG_SEND) h->send_ptr = NULL;
        if (final && tag != TAG_CANCEL) h->flags &= (uint8_t)~UR_ARMED;
    } else if (tag == TAG_ACCEPT) {
        on_accept_cqe(l, h, cqe->res, final);
    } else if (tag == TAG_RECV) {
        on_recv_cqe(l, h, cqe, final);
    } else if (tag == TAG_SEND) {
        h->send_ptr = NULL;
        h->send_len = 0;
        io_event_t ev = { .kind = IO_SENT, .handle = h, .res = cqe->res };
        emit(l, &ev);
    }
    if (has_buf) buffer_recycle(l, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    if (h->state == IO_HANDLE_CLOSING && h->inflight == 0) finish_close(l, h);
}

/* Re-arms the recvs that found the buffer ring empty this turn: its buffers are back now that
 * the turn's completions are handled. Runs before the turn's deferred completions, so the list
 * is empty whenever an IO_CLOSED lets the caller free a handle (finish_close relies on it). */
static void rearm_now(uring_loop_t *l) {
    for (uint32_t i = 0; i < l->rearm_count; i++) {
        io_handle_t *h = l->rearm[i];
        if (h->state == IO_HANDLE_ACTIVE && (h->flags & UR_WANT_RECV) && !(h->flags & UR_ARMED)) arm_recv(l, h);
    }
    l->rearm_count = 0;
}

static int uring_run_once(io_loop_t *base, int timeout_ms) {
    uring_loop_t *l = (uring_loop_t *)base;
    l->emitted = 0;
    if (io_deferred_pending(&l->deferred)) timeout_ms = 0;
    struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (long long)(timeout_ms % 1000) * 1000000 };
    struct io_uring_cqe *cqe = NULL;
    /* A wait of at least one: with DEFER_TASKRUN only a waiting enter runs the deferred work
     * (peek or a wait of zero would never see the completions). */
    int rc = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, timeout_ms >= 0 ? &ts : NULL, NULL);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) return rc;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&l->ring, head, cqe) {
        on_cqe(l, cqe);
        if (++seen == l->max_events) break;
    }
    io_uring_cq_advance(&l->ring, seen);
    rearm_now(l);
    return (int)(l->emitted + io_deferred_deliver(&l->deferred, l->fn, l->ctx));
}

const io_backend_ops_t io_uring_ops = {
    .name = "io_uring",
    .probe = uring_probe,
    .loop_open = uring_loop_open,
    .loop_close = uring_loop_close,
    .attach = io_attach_plain,
    .accept_start = uring_accept_start,
    .recv_start = uring_recv_start,
    .send = uring_send,
    .close = uring_close,
    .run_once = uring_run_once,
    .wake = uring_wake,
    .describe = uring_describe,
    .handover_any_loop = true,
};

/* Client-process helpers every scenario uses: the start handshake with the coordinator, source
 * address spreading, and opening many connections at once with a bounded number of handshakes in
 * flight, each proven by one reply so the server really holds a session for it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* Set-up may take this long plus 1 ms per connection before the stragglers count as failed. */
#define BENCH_SETUP_BASE_NS (30ull * BENCH_NS_PER_S)
#define BENCH_SETUP_PER_CONN_NS 1000000ull

int bench_child_go(bench_child_t *ch, bench_window_t *w)
{
    char r = 'R';
    if (write(ch->res_fd, &r, 1) != 1)
        return -1;
    size_t got = 0;
    while (got < sizeof *w) {
        ssize_t n = read(ch->ctl_fd, (char *)w + got, sizeof *w - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

void bench_sleep_until(uint64_t t)
{
    struct timespec ts = { (time_t)(t / BENCH_NS_PER_S), (long)(t % BENCH_NS_PER_S) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

int bench_child_open(bench_child_t *ch, int flags, bool *in_progress)
{
    const bench_opts_t *o = ch->o;
    char src[32];
    const char *srcp = NULL;
    /* Only 127.0.0.0/8 has spare local addresses to spread over; they all reach 127.0.0.1. */
    if (o->sources && o->target.addr.ss_family == AF_INET) {
        uint32_t k = (ch->first + ch->src_next++) % o->sources;
        snprintf(src, sizeof src, "127.0.0.%u", 2u + k);
        srcp = src;
    }
    return client_open(&o->target, srcp, flags | CLIENT_NODELAY, in_progress);
}

enum { BC_IDLE, BC_CONNECTING, BC_PROVING, BC_READY, BC_FAILED };

typedef struct bench_setup {
    bench_child_t *ch;
    client_conn_t *conns;
    uint8_t *st;
    int ep;
    bench_prove_t prove;
    uint32_t pending, done, ok;
} bench_setup_t;

static void bench_setup_finish(bench_setup_t *s, uint32_t i, bool ok)
{
    epoll_ctl(s->ep, EPOLL_CTL_DEL, s->conns[i].fd, NULL);
    if (ok) {
        s->st[i] = BC_READY;
        s->ok++;
        atomic_fetch_add_explicit(&s->ch->live->conns, 1, memory_order_relaxed);
    } else {
        s->st[i] = BC_FAILED;
        client_close(&s->conns[i], &s->ch->rx);
        s->ch->part->stat[BENCH_ERRORS]++;
        atomic_fetch_add_explicit(&s->ch->live->errors, 1, memory_order_relaxed);
    }
    s->pending--;
    s->done++;
}

static void bench_setup_prove(bench_setup_t *s, uint32_t i)
{
    client_conn_t *c = &s->conns[i];
    uint8_t buf[64];
    size_t len;
    if (s->prove == BENCH_PROVE_NONE) {
        bench_setup_finish(s, i, true);
        return;
    }
    if (s->prove == BENCH_PROVE_LOGIN) {
        char name[PROTO_LOGIN_NAME_MAX + 1];
        int n = snprintf(name, sizeof name, "bench-%u", s->ch->first + i);
        uint8_t payload[1 + PROTO_LOGIN_NAME_MAX];
        payload[0] = (uint8_t)n;
        memcpy(payload + 1, name, (size_t)n);
        len = client_frame_put(buf, sizeof buf, OP_LOGIN, payload, 1u + (size_t)n);
    } else {
        uint8_t payload[8] = { 0 };
        len = client_frame_put(buf, sizeof buf, OP_ECHO, payload, sizeof payload);
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = i };
    if (client_send_all(c->fd, buf, len, 1000) < 0 || epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        bench_setup_finish(s, i, false);
        return;
    }
    s->st[i] = BC_PROVING;
}

typedef struct bench_proof {
    uint16_t want;
    int got; /* 1: the expected reply, -1: anything else */
} bench_proof_t;

static int bench_proof_frame(void *ctx, const frame_t *f)
{
    bench_proof_t *p = ctx;
    p->got = f->op == p->want ? 1 : -1;
    return 0;
}

static void bench_setup_event(bench_setup_t *s, uint32_t i)
{
    client_conn_t *c = &s->conns[i];
    if (s->st[i] == BC_CONNECTING) {
        if (client_connect_result(c->fd) < 0)
            bench_setup_finish(s, i, false);
        else
            bench_setup_prove(s, i);
        return;
    }
    if (s->st[i] != BC_PROVING)
        return;
    bench_proof_t p = { s->prove == BENCH_PROVE_LOGIN ? OP_LOGIN_OK : OP_ECHO, 0 };
    int rc = client_conn_read(c, &s->ch->rx, bench_proof_frame, &p);
    if (rc == -EAGAIN)
        return;
    if (rc <= 0 || p.got < 0)
        bench_setup_finish(s, i, false);
    else if (p.got > 0)
        bench_setup_finish(s, i, true);
}

static void bench_setup_start(bench_setup_t *s, uint32_t i)
{
    bool in_progress = false;
    int fd = bench_child_open(s->ch, CLIENT_NONBLOCK, &in_progress);
    client_conn_init(&s->conns[i], fd);
    s->pending++;
    if (fd < 0) {
        s->st[i] = BC_FAILED;
        s->pending--;
        s->done++;
        s->ch->part->stat[BENCH_ERRORS]++;
        atomic_fetch_add_explicit(&s->ch->live->errors, 1, memory_order_relaxed);
        return;
    }
    struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        bench_setup_finish(s, i, false);
        return;
    }
    s->st[i] = BC_CONNECTING;
    if (!in_progress)
        bench_setup_prove(s, i);
}

uint32_t bench_connect_all(bench_child_t *ch, client_conn_t *conns, uint32_t n, bench_prove_t prove)
{
    bench_setup_t s = { .ch = ch, .conns = conns, .prove = prove };
    s.st = calloc(n ? n : 1, 1);
    s.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!s.st || s.ep < 0) {
        free(s.st);
        if (s.ep >= 0)
            close(s.ep);
        for (uint32_t i = 0; i < n; i++)
            client_conn_init(&conns[i], -1);
        ch->part->stat[BENCH_ERRORS] += n;
        return 0;
    }
    uint64_t deadline = client_now_ns() + BENCH_SETUP_BASE_NS + BENCH_SETUP_PER_CONN_NS * n;
    uint32_t next = 0;
    struct epoll_event evs[256];
    while (s.done < n) {
        while (next < n && s.pending < BENCH_CONNECT_WINDOW)
            bench_setup_start(&s, next++);
        if (client_now_ns() > deadline) {
            for (uint32_t i = 0; i < next; i++)
                if (s.st[i] == BC_CONNECTING || s.st[i] == BC_PROVING)
                    bench_setup_finish(&s, i, false);
            for (; next < n; next++) {
                client_conn_init(&conns[next], -1);
                ch->part->stat[BENCH_ERRORS]++;
            }
            break;
        }
        int k = epoll_wait(s.ep, evs, 256, 100);
        for (int e = 0; e < k; e++)
            bench_setup_event(&s, evs[e].data.u32);
    }
    close(s.ep);
    free(s.st);
    ch->part->stat[BENCH_CONNS] += s.ok;
    return s.ok;
}

client_conn_t *bench_connect_polled(bench_child_t *ch, uint32_t n, bench_prove_t prove, int *ep)
{
    client_conn_t *conns = calloc(n ? n : 1, sizeof *conns);
    *ep = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || *ep < 0) {
        free(conns);
        return NULL;
    }
    bench_connect_all(ch, conns, n, prove);
    return conns;
}

uint32_t bench_poll_all(int ep, client_conn_t *conns, uint32_t n, uint32_t events)
{
    uint32_t added = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct epoll_event ev = { .events = events, .data.u32 = i };
        if (conns[i].fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) == 0)
            added++;
    }
    return added;
}

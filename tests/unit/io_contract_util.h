/* io_contract_util: the fixture behind test_io_contract.c. One loop of the backend under test, a
 * listener on 127.0.0.1, every completion recorded in order (received bytes copied out while
 * they are lent), and plain-socket clients; the server-side hooks and harness the tests share.
 * Helpers only, all static inline; the tests, one per contract point, live in
 * test_io_contract.c. Hooks never assert (a longjmp out of a callback would leave the backend
 * mid-turn): they note the first failure in hook_error for the test to assert. */
#ifndef GSKEL_IO_CONTRACT_UTIL_H
#define GSKEL_IO_CONTRACT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

enum {
    TURNS = 2000,     /* io_run_once calls a wait may take before it counts as failed */
    TURN_MS = 10,     /* timeout of each of them */
    QUIET_TURNS = 20, /* turns run to see that nothing more arrives */
    MAX_CONNS = 512,
    HEAP_HANDLES = 40, /* handles in their own allocations, freed at IO_CLOSED */
    RECV_BUFFER_BYTES = 4096,
    RECV_BUFFERS = 16, /* fewer than MAX_EVENTS on purpose: io_uring runs out (ENOBUFS) and re-arms */
    MAX_EVENTS = 64,
    CLIENT_TIMEOUT_S = 10, /* blocking client calls give up after this (a failure, not a hang) */
};

/* One completion as the callback saw it. */
typedef struct rec {
    io_event_kind_t kind;
    io_handle_t *handle;
    uint32_t user;       /* handle->user at delivery: tells a reused handle's lives apart */
    int32_t res;
    sock_t accepted_fd;
    int peer_family;     /* IO_ACCEPTED: AF_INET..., 0 when no address came */
    int peer_port;
    uint32_t peer_addr4; /* network order */
    size_t data_off;     /* IO_RECEIVED res > 0: where its bytes start in fixture.rx */
    bool busy;           /* io_send_busy(handle) inside the callback */
} rec_t;

/* A session slot: the handle's memory stays put for the whole test, even if the test fails. */
typedef struct conn {
    io_handle_t h;
    bool open; /* attached and its IO_CLOSED not yet seen */
    uint8_t buf[64];
    uint32_t got, sent;
} conn_t;

typedef struct fixture fixture_t;
/* Runs after the event is recorded; returns true when it took an accepted fd. */
typedef bool (*hook_fn)(fixture_t *f, const io_event_t *ev);

struct fixture {
    io_loop_t *loop;
    io_handle_t listener;
    bool listener_open;
    uint16_t port;
    rec_t *recs;
    size_t nrecs, recs_cap;
    uint8_t *rx; /* every received byte, in delivery order */
    size_t rx_len, rx_cap;
    sock_t accepted[MAX_CONNS]; /* accepted fds nobody has taken yet */
    size_t accepted_count;
    conn_t *conns;
    io_handle_t *heap[HEAP_HANDLES]; /* NULL once freed */
    int clients[MAX_CONNS];
    size_t nclients;
    hook_fn hook;
    void *hook_arg;
    char hook_error[256]; /* first failure seen by a hook; asserted by the test afterwards */
};

extern const io_backend_ops_t *g_backend;

static inline void hook_fail(fixture_t *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void hook_fail(fixture_t *f, const char *fmt, ...)
{
    if (f->hook_error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->hook_error, sizeof f->hook_error, fmt, ap);
    va_end(ap);
}

static inline void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t cap2 = *cap ? *cap : 256;
    while (cap2 < need) cap2 *= 2;
    p = realloc(p, cap2 * elem);
    if (!p) abort();
    *cap = cap2;
    return p;
}

static inline conn_t *conn_of(fixture_t *f, io_handle_t *h)
{
    uintptr_t p = (uintptr_t)h, lo = (uintptr_t)&f->conns[0], hi = (uintptr_t)&f->conns[MAX_CONNS];
    if (!h || p < lo || p >= hi || (p - lo) % sizeof(conn_t) != 0) return NULL;
    return &f->conns[(p - lo) / sizeof(conn_t)];
}

static inline void on_io_event(void *ctx, const io_event_t *ev)
{
    fixture_t *f = ctx;
    f->recs = grow(f->recs, &f->recs_cap, f->nrecs + 1, sizeof *f->recs);
    rec_t *r = &f->recs[f->nrecs++];
    *r = (rec_t){ .kind = ev->kind, .handle = ev->handle, .res = ev->res, .accepted_fd = ev->accepted_fd };
    if (ev->handle) {
        r->user = ev->handle->user;
        r->busy = io_send_busy(ev->handle);
    }
    if (ev->kind == IO_ACCEPTED && ev->peer && ev->peer->ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ev->peer->ss;
        r->peer_family = AF_INET;
        r->peer_port = ntohs(in->sin_port);
        r->peer_addr4 = in->sin_addr.s_addr;
    }
    if (ev->kind == IO_RECEIVED && ev->res > 0) {
        /* Lent only until we return: copy now. */
        f->rx = grow(f->rx, &f->rx_cap, f->rx_len + (size_t)ev->res, 1);
        memcpy(f->rx + f->rx_len, ev->data, (size_t)ev->res);
        r->data_off = f->rx_len;
        f->rx_len += (size_t)ev->res;
    }
    conn_t *c = ev->kind == IO_CLOSED ? conn_of(f, ev->handle) : NULL;
    if (c) c->open = false;
    if (ev->kind == IO_CLOSED && ev->handle == &f->listener) f->listener_open = false;
    bool taken = f->hook && f->hook(f, ev);
    if (ev->kind == IO_ACCEPTED && ev->res == 0 && !taken) {
        if (f->accepted_count == MAX_CONNS) {
            hook_fail(f, "more than %d accepted fds queued", MAX_CONNS);
            close(ev->accepted_fd);
        } else {
            f->accepted[f->accepted_count++] = ev->accepted_fd;
        }
    }
}

static inline int fx_turn(fixture_t *f, int timeout_ms)
{
    int rc = io_run_once(f->loop, timeout_ms);
    if (rc < 0) fail_msg("io_run_once: %s", strerror(-rc));
    return rc;
}

/* Runs the loop until cond holds, at most TURNS turns; fails the test naming cond otherwise. */
#define RUN_UNTIL(f, cond) \
    do { \
        for (int turn_ = 0; turn_ < TURNS && !(cond); turn_++) fx_turn((f), TURN_MS); \
        if (!(cond)) fail_msg("still false after %d turns: %s", TURNS, #cond); \
    } while (0)

/* Lets whatever else would arrive arrive. */
static inline void run_quiet(fixture_t *f)
{
    for (int i = 0; i < QUIET_TURNS; i++) fx_turn(f, TURN_MS);
}

/* Completions of a kind (any kind: kind < 0) for h (any handle: NULL), from record `from` on. */
static inline size_t count_from(const fixture_t *f, size_t from, int kind, const io_handle_t *h)
{
    size_t n = 0;
    for (size_t i = from; i < f->nrecs; i++)
        if ((kind < 0 || f->recs[i].kind == (io_event_kind_t)kind) && (!h || f->recs[i].handle == h)) n++;
    return n;
}

static inline size_t count_of(const fixture_t *f, int kind, const io_handle_t *h)
{
    return count_from(f, 0, kind, h);
}

/* Completions of a kind with result res for h. */
static inline size_t count_res(const fixture_t *f, io_event_kind_t kind, const io_handle_t *h, int32_t res)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nrecs; i++)
        if (f->recs[i].kind == kind && f->recs[i].handle == h && f->recs[i].res == res) n++;
    return n;
}

static inline const rec_t *first_from(const fixture_t *f, size_t from, int kind, const io_handle_t *h)
{
    for (size_t i = from; i < f->nrecs; i++)
        if (f->recs[i].kind == (io_event_kind_t)kind && (!h || f->recs[i].handle == h)) return &f->recs[i];
    return NULL;
}

/* Sum of IO_SENT results for h from record `from` on. */
static inline uint64_t sent_from(const fixture_t *f, size_t from, const io_handle_t *h)
{
    uint64_t sum = 0;
    for (size_t i = from; i < f->nrecs; i++)
        if (f->recs[i].kind == IO_SENT && f->recs[i].handle == h && f->recs[i].res > 0) sum += (uint64_t)f->recs[i].res;
    return sum;
}

static inline size_t received_by(const fixture_t *f, const io_handle_t *h, uint32_t user)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nrecs; i++)
        if (f->recs[i].kind == IO_RECEIVED && f->recs[i].handle == h && f->recs[i].user == user && f->recs[i].res > 0)
            n += (size_t)f->recs[i].res;
    return n;
}

static inline io_loop_config_t loop_config(void)
{
    return (io_loop_config_t){ .recv_buffer_bytes = RECV_BUFFER_BYTES, .recv_buffers = RECV_BUFFERS,
                               .max_events = MAX_EVENTS, .max_handles = MAX_CONNS + 1 };
}

static inline int fx_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->conns = calloc(MAX_CONNS, sizeof *f->conns);
    if (!f->conns) return -1;
    for (size_t i = 0; i < MAX_CONNS; i++) f->clients[i] = -1;
    io_loop_config_t cfg = loop_config();
    int rc = g_backend->loop_open(&f->loop, &cfg, on_io_event, f);
    if (rc < 0) {
        fprintf(stderr, "loop_open(%s): %s\n", g_backend->name, strerror(-rc));
        return -1;
    }
    sock_listen_opts_t lo = { .host = "127.0.0.1", .port = 0, .backlog = 1024 };
    sock_t lfd;
    if (sock_listen(&lo, &lfd) < 0 || sock_local_port(lfd, &f->port) < 0) return -1;
    io_attach(f->loop, &f->listener, lfd, UINT32_MAX);
    if (io_accept_start(f->loop, &f->listener) < 0) return -1;
    f->listener_open = true;
    *state = f;
    return 0;
}

static inline bool all_closed(const fixture_t *f)
{
    if (f->listener_open) return false;
    for (size_t i = 0; i < MAX_CONNS; i++)
        if (f->conns[i].open) return false;
    for (size_t i = 0; i < HEAP_HANDLES; i++)
        if (f->heap[i] && f->heap[i]->state != IO_HANDLE_CLOSED) return false;
    return true;
}

/* Closes what the test left open (it may have failed half way), then the loop. */
static inline int fx_teardown(void **state)
{
    fixture_t *f = *state;
    f->hook = NULL;
    for (size_t i = 0; i < MAX_CONNS; i++)
        if (f->conns[i].open) io_close(f->loop, &f->conns[i].h, IO_CLOSE_ABORT);
    for (size_t i = 0; i < HEAP_HANDLES; i++)
        if (f->heap[i]) io_close(f->loop, f->heap[i], IO_CLOSE_ABORT);
    if (f->listener_open) io_close(f->loop, &f->listener, IO_CLOSE_NORMAL);
    for (int i = 0; i < TURNS && !all_closed(f); i++) io_run_once(f->loop, TURN_MS);
    int rc = all_closed(f) ? 0 : -1;
    for (size_t i = 0; i < f->accepted_count; i++) close(f->accepted[i]);
    for (size_t i = 0; i < f->nclients; i++)
        if (f->clients[i] >= 0) close(f->clients[i]);
    io_loop_close(f->loop);
    for (size_t i = 0; i < HEAP_HANDLES; i++) free(f->heap[i]);
    free(f->recs);
    free(f->rx);
    free(f->conns);
    free(f);
    return rc;
}

/* A blocking client connected to the listener (rcvbuf > 0: set before connect, so the window
 * stays small). Blocking calls on it time out instead of hanging the test. The loop runs on this
 * thread too, and io_uring's task-work notification can interrupt a blocking call: one with a
 * timeout then fails with EINTR instead of restarting, so the timeouts are set after connect()
 * and the blocking calls below retry on EINTR. */
static inline int client_connect(fixture_t *f, int rcvbuf)
{
    assert_true(f->nclients < MAX_CONNS);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c >= 0);
    f->clients[f->nclients++] = c;
    if (rcvbuf > 0) assert_int_equal(setsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(f->port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(c, (struct sockaddr *)&to, sizeof to) < 0) fail_msg("connect: %s", strerror(errno));
    struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
    assert_int_equal(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    assert_int_equal(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
    return c;
}

static inline void client_close(fixture_t *f, int c)
{
    for (size_t i = 0; i < f->nclients; i++)
        if (f->clients[i] == c) f->clients[i] = -1;
    close(c);
}

/* Client closes with RST (SO_LINGER {1,0}). */
static inline void client_reset(fixture_t *f, int c)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    assert_int_equal(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    client_close(f, c);
}

static inline int local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

static inline void client_send_all(int c, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = send(c, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail_msg("client send: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

static inline void client_send_byte_run(int c, uint8_t byte, size_t len)
{
    uint8_t buf[4096];
    memset(buf, byte, sizeof buf);
    while (len) {
        size_t n = len < sizeof buf ? len : sizeof buf;
        client_send_all(c, buf, n);
        len -= n;
    }
}

/* Blocks (up to the client timeout) for exactly len bytes or the end: bytes read, or -errno. */
static inline ssize_t client_read_wait(int c, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(c, buf + got, len - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Reads what is there without waiting: bytes read, 0 when nothing is, -1 at end of stream. */
static inline ssize_t client_read_now(int c, uint8_t *buf, size_t cap)
{
    ssize_t n = recv(c, buf, cap, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n < 0) fail_msg("client recv: %s", strerror(errno));
    return n == 0 ? -1 : n;
}

/* The accepted fd of the next connection, running the loop until there is one. */
static inline sock_t take_accepted(fixture_t *f)
{
    RUN_UNTIL(f, f->accepted_count > 0);
    sock_t fd = f->accepted[0];
    memmove(f->accepted, f->accepted + 1, --f->accepted_count * sizeof *f->accepted);
    return fd;
}

static inline io_handle_t *conn_attach(fixture_t *f, size_t slot, sock_t fd, uint32_t user)
{
    conn_t *c = &f->conns[slot];
    c->got = c->sent = 0;
    if (io_attach(f->loop, &c->h, fd, user) < 0) {
        close(fd);
        return NULL;
    }
    c->open = true;
    return &c->h;
}

/* Connects a client and attaches its server side to conns[slot]; returns the client fd. */
static inline int conn_accept(fixture_t *f, size_t slot, uint32_t user, int rcvbuf, io_handle_t **h)
{
    int c = client_connect(f, rcvbuf);
    *h = conn_attach(f, slot, take_accepted(f), user);
    assert_non_null(*h);
    return c;
}

/* Sends len bytes from buf as the server does: after each turn, the rest once the last
 * IO_SENT is in. The client reads up to read_cap per turn (0: never). Returns bytes received. */
static inline size_t pump_send(fixture_t *f, io_handle_t *h, const uint8_t *buf, size_t len, int c, uint8_t *in,
                                 size_t read_cap, int turns)
{
    size_t from = f->nrecs, asked = 0, got = 0;
    for (int turn = 0; turn < turns && (got < len || read_cap == 0); turn++) {
        size_t done = (size_t)sent_from(f, from, h);
        assert_true(done <= asked); /* never more reported than asked */
        if (!io_send_busy(h) && done < len) {
            assert_int_equal(io_send(f->loop, h, buf + done, (uint32_t)(len - done)), 0);
            asked = len;
            assert_true(io_send_busy(h));
        }
        if (read_cap) {
            ssize_t n = client_read_now(c, in + got, len - got < read_cap ? len - got : read_cap);
            assert_true(n >= 0);
            got += (size_t)n;
        }
        fx_turn(f, TURN_MS);
    }
    for (size_t i = from; i < f->nrecs; i++)
        if (f->recs[i].handle == h && f->recs[i].kind == IO_SENT) assert_true(f->recs[i].res >= 0);
    return got;
}

static inline void ignore_event(void *ctx, const io_event_t *ev)
{
    (void)ctx;
    (void)ev;
}

/* The backend's own line on what it uses (setup flags, buffers), from a throwaway loop. */
static inline const char *loop_describe(const io_backend_ops_t *b)
{
    static char line[256];
    io_loop_config_t cfg = loop_config();
    io_loop_t *loop;
    int rc = b->loop_open(&loop, &cfg, ignore_event, NULL);
    if (rc < 0) return strerror(-rc);
    snprintf(line, sizeof line, "%s", io_describe(loop));
    io_loop_close(loop);
    return line;
}

/* ---- for particular tests ---- */

static inline void watchdog_fired(int sig)
{
    (void)sig;
    static const char msg[] = "watchdog: io_run_once(-1) never returned after io_wake\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(2);
}

static inline void *wake_later(void *arg)
{
    struct timespec ts = { .tv_nsec = 50 * 1000000 }; /* lets the main thread block first */
    nanosleep(&ts, NULL);
    return (void *)(intptr_t)io_wake(arg);
}

/* A blocking wait that io_wake must end; a hang is caught by the watchdog. */
static inline void run_blocking_until_woken(fixture_t *f)
{
    signal(SIGALRM, watchdog_fired);
    alarm(30);
    for (int i = 0; i < 10 && count_of(f, IO_WOKEN, NULL) == 0; i++) fx_turn(f, -1);
    alarm(0);
    run_quiet(f); /* one io_wake, one IO_WOKEN: the wake is consumed */
    assert_int_equal(count_of(f, IO_WOKEN, NULL), 1);
    assert_null(first_from(f, 0, IO_WOKEN, NULL)->handle);
}

/* One turn; fails naming the phase when io_run_once's result is not the callbacks it made. */
static inline void turn_counted(fixture_t *f, const char *phase)
{
    size_t before = f->nrecs;
    int rc = fx_turn(f, TURN_MS);
    if ((size_t)rc != f->nrecs - before)
        fail_msg("%s: io_run_once returned %d, delivered %zu", phase, rc, f->nrecs - before);
}

enum { ECHO_CONNS = 500, ECHO_LEN = 16 };

/* The server side of the echo test, as the worker does it: attach and arm on accept, send back
 * once a whole message is in, close on end of stream. */
static inline bool echo_server(fixture_t *f, const io_event_t *ev)
{
    size_t *next_slot = f->hook_arg;
    conn_t *c = conn_of(f, ev->handle);
    if (ev->kind == IO_ACCEPTED && ev->res == 0) {
        size_t slot = (*next_slot)++;
        if (slot >= ECHO_CONNS) {
            close(ev->accepted_fd);
            hook_fail(f, "more than %d accepted", ECHO_CONNS);
            return true;
        }
        io_handle_t *h = conn_attach(f, slot, ev->accepted_fd, (uint32_t)slot + 1);
        if (!h || io_recv_start(f->loop, h) != 0) hook_fail(f, "accept %zu: cannot attach and arm", slot);
        return true;
    }
    if (!c) return false;
    if (ev->kind == IO_RECEIVED && ev->res > 0) {
        if (c->got + (uint32_t)ev->res > ECHO_LEN) {
            hook_fail(f, "slot %u: more than one message", ev->handle->user);
            return false;
        }
        memcpy(c->buf + c->got, ev->data, (size_t)ev->res);
        c->got += (uint32_t)ev->res;
        if (c->got == ECHO_LEN && io_send(f->loop, &c->h, c->buf, ECHO_LEN) != 0) hook_fail(f, "echo send");
    } else if (ev->kind == IO_RECEIVED) {
        if (ev->res < 0) hook_fail(f, "slot %u: recv error %d", ev->handle->user, ev->res);
        if (io_close(f->loop, &c->h, IO_CLOSE_NORMAL) != 0) hook_fail(f, "close on end of stream");
    } else if (ev->kind == IO_SENT) {
        if (ev->res < 0) {
            hook_fail(f, "slot %u: send error %d", ev->handle->user, ev->res);
            return false;
        }
        c->sent += (uint32_t)ev->res;
        if (c->sent < ECHO_LEN && io_send(f->loop, &c->h, c->buf + c->sent, ECHO_LEN - c->sent) != 0)
            hook_fail(f, "echo resend");
    }
    return false;
}

/* Each backend in its own process, so a crash (or a sanitizer abort) in one still lets the others
 * report. */
static inline int run_isolated(const io_backend_ops_t *b, int (*run_group)(const io_backend_ops_t *))
{
    fflush(stdout);
    enum { TESTS_FAILED = 3 }; /* apart from a sanitizer's exit status (1) */
    pid_t pid = fork();
    if (pid == 0) _exit(run_group(b) ? TESTS_FAILED : 0);
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return 1;
    if (WIFSIGNALED(status)) printf("[ CRASHED  ] backend %s: signal %d\n", b->name, WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != TESTS_FAILED)
        printf("[ CRASHED  ] backend %s: exit status %d (sanitizer report or watchdog)\n", b->name,
               WEXITSTATUS(status));
    return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

static inline uint32_t rng_next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static inline uint8_t *pattern_new(size_t len, uint32_t seed)
{
    uint8_t *p = malloc(len);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(rng_next(&seed) >> 24);
    return p;
}

#endif

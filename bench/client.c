/* The gskel client library: see client.h. */
#define _GNU_SOURCE /* IP_BIND_ADDRESS_NO_PORT, MSG_NOSIGNAL */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* Linux 4.2; older libc headers lack the name */
#endif

/* Unread frames a blocking helper keeps for one connection: a server that floods a client which
 * only waits for one reply must not grow it without bound. */
#define CLIENT_STASH_MAX (1u << 20)

const char *client_strerror(int err)
{
    switch (err) {
    case CLIENT_EBADFRAME: return "bad frame length from server";
    case CLIENT_EOF: return "server closed the connection (FIN)";
    case CLIENT_ESTOPPED: return "stopped by frame callback";
    case CLIENT_EUNEXPECTED: return "unexpected reply op";
    default: return strerror(err < 0 ? -err : err);
    }
}

uint64_t client_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int client_target_resolve(client_target_t *t, const char *host, uint16_t port)
{
    memset(t, 0, sizeof *t);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char serv[8];
    snprintf(serv, sizeof serv, "%u", port);
    if (!host || !*host || getaddrinfo(host, serv, &hints, &res) != 0 || !res)
        return -ENOENT;
    /* IPv4 first: "localhost" should reach a server listening on 127.0.0.1. */
    const struct addrinfo *pick = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    }
    int rc = -EINVAL;
    if (pick->ai_addrlen <= sizeof t->addr) {
        memcpy(&t->addr, pick->ai_addr, pick->ai_addrlen);
        t->addr_len = pick->ai_addrlen;
        rc = 0;
    }
    freeaddrinfo(res);
    return rc;
}

bool client_target_is_loopback(const client_target_t *t)
{
    if (t->addr.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&t->addr;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (t->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&t->addr;
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return false;
}

uint16_t client_target_port(const client_target_t *t)
{
    if (t->addr.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&t->addr)->sin_port);
    if (t->addr.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&t->addr)->sin6_port);
    return 0;
}

static int client_bind_source(int fd, int family, const char *src)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        if (inet_pton(AF_INET, src, &a->sin_addr) != 1)
            return -EINVAL;
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, src, &a->sin6_addr) != 1)
            return -EINVAL;
        len = sizeof *a;
    }
    int one = 1;
    /* Without it, bind() with port 0 reserves a port for every destination at once and a few
     * tens of thousands of connections exhaust the range. */
    if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&ss, len) < 0)
        return -errno;
    return 0;
}

int client_open(const client_target_t *t, const char *src, int flags, bool *in_progress)
{
    if (in_progress)
        *in_progress = false;
    int type = SOCK_STREAM | SOCK_CLOEXEC | ((flags & CLIENT_NONBLOCK) ? SOCK_NONBLOCK : 0);
    int fd = socket(t->addr.ss_family, type, 0);
    if (fd < 0)
        return -errno;
    int rc = 0;
    int one = 1;
    if ((flags & CLIENT_NODELAY) && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        rc = -errno;
    if (rc == 0 && src)
        rc = client_bind_source(fd, t->addr.ss_family, src);
    if (rc == 0 && connect(fd, (const struct sockaddr *)&t->addr, t->addr_len) < 0) {
        if (errno == EINPROGRESS && (flags & CLIENT_NONBLOCK) && in_progress)
            *in_progress = true;
        else
            rc = -errno;
    }
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int client_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

size_t client_frame_put(uint8_t *out, size_t cap, uint16_t op, const void *payload, size_t len)
{
    size_t total = FRAME_HEADER_BYTES + len;
    if (total > FRAME_MAX_BYTES || total > cap)
        return 0;
    frame_header_put(out, (uint16_t)total, op);
    if (len)
        memcpy(out + FRAME_HEADER_BYTES, payload, len);
    return total;
}

int client_rx_init(client_rx_t *rx, uint32_t max_frame, size_t buf_len)
{
    memset(rx, 0, sizeof *rx);
    if (max_frame < FRAME_HEADER_BYTES || max_frame > FRAME_MAX_BYTES || buf_len == 0)
        return -EINVAL;
    int rc = pool_init(&rx->partials, max_frame, 16);
    if (rc < 0)
        return rc;
    rx->buf = malloc(buf_len);
    if (!rx->buf)
        return -ENOMEM;
    rx->max_frame = max_frame;
    rx->buf_len = buf_len;
    return 0;
}

void client_rx_destroy(client_rx_t *rx)
{
    pool_destroy(&rx->partials);
    free(rx->buf);
    memset(rx, 0, sizeof *rx);
}

void client_conn_init(client_conn_t *c, int fd)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
}

int client_conn_read(client_conn_t *c, client_rx_t *rx, frame_fn fn, void *ctx)
{
    ssize_t n;
    do {
        n = recv(c->fd, rx->buf, rx->buf_len, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (n == 0)
        return 0;
    int rc = frame_reader_feed(&c->reader, &rx->partials, rx->max_frame, rx->buf, (size_t)n, fn, ctx);
    if (rc == FRAME_EBADLEN)
        return CLIENT_EBADFRAME;
    if (rc != 0)
        return CLIENT_ESTOPPED;
    return (int)n;
}

static int client_wait(int fd, short events, uint64_t deadline_ns)
{
    for (;;) {
        uint64_t now = client_now_ns();
        if (now >= deadline_ns)
            return -ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = events };
        int ms = (int)((deadline_ns - now + 999999u) / 1000000u);
        int rc = poll(&p, 1, ms);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -errno;
    }
}

static uint64_t client_deadline(int timeout_ms)
{
    return client_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000u;
}

int client_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
    const uint8_t *p = buf;
    uint64_t deadline = client_deadline(timeout_ms);
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = client_wait(fd, POLLOUT, deadline);
            if (rc < 0)
                return rc;
        } else if (n < 0 && errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

int client_send_frame(client_conn_t *c, uint16_t op, const void *payload, size_t len, int timeout_ms)
{
    uint8_t buf[FRAME_MAX_BYTES];
    size_t n = client_frame_put(buf, sizeof buf, op, payload, len);
    if (n == 0)
        return -EMSGSIZE;
    return client_send_all(c->fd, buf, n, timeout_ms);
}

typedef struct client_stash_ctx {
    client_conn_t *c;
    int err;
} client_stash_ctx_t;

/* Keeps a frame re-encoded, header and all, so the stash is a plain byte run of whole frames. */
static int client_stash_frame(void *ctx, const frame_t *f)
{
    client_stash_ctx_t *sc = ctx;
    client_conn_t *c = sc->c;
    uint32_t need = FRAME_HEADER_BYTES + f->payload_len;
    if (c->stash_off > 0 && c->stash_len + need > c->stash_cap) {
        memmove(c->stash, c->stash + c->stash_off, c->stash_len - c->stash_off);
        c->stash_len -= c->stash_off;
        c->stash_off = 0;
    }
    if (c->stash_len + need > c->stash_cap) {
        uint32_t cap = c->stash_cap ? c->stash_cap : 4096;
        while (cap < c->stash_len + need)
            cap *= 2;
        if (cap > CLIENT_STASH_MAX) {
            sc->err = -ENOBUFS;
            return 1;
        }
        uint8_t *p = realloc(c->stash, cap);
        if (!p) {
            sc->err = -ENOMEM;
            return 1;
        }
        c->stash = p;
        c->stash_cap = cap;
    }
    client_frame_put(c->stash + c->stash_len, need, f->op, f->payload, f->payload_len);
    c->stash_len += need;
    return 0;
}

int client_recv_frame(client_conn_t *c, client_rx_t *rx, int timeout_ms, frame_t *out)
{
    c->stash_off += c->taken;
    c->taken = 0;
    if (c->stash_off == c->stash_len)
        c->stash_off = c->stash_len = 0;
    uint64_t deadline = client_deadline(timeout_ms);
    for (;;) {
        if (c->stash_len > c->stash_off) {
            uint16_t len, op;
            frame_header_get(c->stash + c->stash_off, &len, &op);
            *out = (frame_t){ op, (uint16_t)(len - FRAME_HEADER_BYTES), c->stash + c->stash_off + FRAME_HEADER_BYTES };
            c->taken = len;
            return 0;
        }
        int rc = client_wait(c->fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
        client_stash_ctx_t sc = { c, 0 };
        rc = client_conn_read(c, rx, client_stash_frame, &sc);
        if (rc == 0)
            return CLIENT_EOF;
        if (rc == CLIENT_ESTOPPED)
            return sc.err;
        if (rc < 0 && rc != -EAGAIN)
            return rc;
    }
}

/* Receives the next frame and checks its op; anything else goes to *other for the caller. */
static int client_expect(client_conn_t *c, client_rx_t *rx, int timeout_ms, uint16_t op,
                         frame_t *f, frame_t *other)
{
    int rc = client_recv_frame(c, rx, timeout_ms, f);
    if (rc < 0)
        return rc;
    if (f->op != op) {
        if (other)
            *other = *f;
        return CLIENT_EUNEXPECTED;
    }
    return 0;
}

int client_login(client_conn_t *c, client_rx_t *rx, const char *name, int timeout_ms,
                 uint32_t *session_id, frame_t *kick)
{
    size_t n = strlen(name);
    if (n == 0 || n > PROTO_LOGIN_NAME_MAX)
        return -EINVAL;
    uint8_t payload[1 + PROTO_LOGIN_NAME_MAX];
    payload[0] = (uint8_t)n;
    memcpy(payload + 1, name, n);
    int rc = client_send_frame(c, OP_LOGIN, payload, 1 + n, timeout_ms);
    frame_t f;
    if (rc == 0)
        rc = client_expect(c, rx, timeout_ms, OP_LOGIN_OK, &f, kick);
    if (rc == 0 && f.payload_len != 4)
        rc = CLIENT_EBADFRAME;
    if (rc == 0 && session_id)
        *session_id = le_get_u32(f.payload);
    return rc;
}

int client_logout(client_conn_t *c, client_rx_t *rx, int timeout_ms, frame_t *kick)
{
    int rc = client_send_frame(c, OP_LOGOUT, NULL, 0, timeout_ms);
    frame_t f;
    if (rc == 0)
        rc = client_expect(c, rx, timeout_ms, OP_LOGOUT_OK, &f, kick);
    return rc;
}

int client_ping(client_conn_t *c, client_rx_t *rx, int timeout_ms, uint64_t *rtt_ns,
                uint64_t *server_us)
{
    uint64_t t0 = client_now_ns();
    uint8_t payload[8];
    le_put_u64(payload, t0);
    int rc = client_send_frame(c, OP_PING, payload, sizeof payload, timeout_ms);
    frame_t f;
    if (rc == 0)
        rc = client_expect(c, rx, timeout_ms, OP_PONG, &f, NULL);
    if (rc == 0 && (f.payload_len != 16 || le_get_u64(f.payload) != t0))
        rc = CLIENT_EBADFRAME;
    if (rc == 0) {
        if (rtt_ns)
            *rtt_ns = client_now_ns() - t0;
        if (server_us)
            *server_us = le_get_u64(f.payload + 8);
    }
    return rc;
}

int client_parse_kick(const frame_t *f, uint16_t *reason, const uint8_t **text, uint16_t *text_len)
{
    if (f->op != OP_KICK || f->payload_len < 2)
        return CLIENT_EBADFRAME;
    *reason = le_get_u16(f->payload);
    *text = f->payload + 2;
    *text_len = (uint16_t)(f->payload_len - 2);
    return 0;
}

static void client_release(client_conn_t *c, client_rx_t *rx)
{
    if (c->fd >= 0)
        close(c->fd);
    frame_reader_reset(&c->reader, &rx->partials);
    free(c->stash);
    client_conn_init(c, -1);
}

void client_close(client_conn_t *c, client_rx_t *rx)
{
    client_release(c, rx);
}

void client_abort(client_conn_t *c, client_rx_t *rx)
{
    if (c->fd >= 0) {
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    client_release(c, rx);
}

/* gskel-ref-epoll: the "limit" reference for the echo benchmark. A bare single-thread
 * level-triggered epoll loop speaking gskel's framing (u16 len incl. header, u16 op, LE): read
 * into one shared buffer, write back every complete frame with one write per read, keep only a
 * cut frame's bytes per connection. No sessions, no queues, no policy: what is left of a
 * server's per-message cost once everything optional is gone. A bad length gets RST, like gskel.
 * Usage: gskel-ref-epoll [--port N]   (127.0.0.1; 0 = any free port, printed on stderr). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define REF_MAX_FRAME 65535u
#define REF_BUF_BYTES (64u * 1024u)

typedef struct ref_conn {
    uint8_t *part;  /* a frame cut by the end of a read (allocated only then) */
    uint32_t part_len;
    uint8_t *out;   /* what a short write left; reading pauses until it is out */
    uint32_t out_len, out_off;
} ref_conn_t;

static volatile sig_atomic_t ref_stop;
static ref_conn_t *ref_conns; /* indexed by fd */
static int ref_max_fd;
static uint8_t ref_buf[REF_MAX_FRAME + REF_BUF_BYTES];

static void ref_on_signal(int sig)
{
    (void)sig;
    ref_stop = 1;
}

static void ref_close(int ep, int fd, int abortive)
{
    ref_conn_t *c = &ref_conns[fd];
    if (abortive) {
        struct linger lg = { 1, 0 };
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(c->part);
    free(c->out);
    memset(c, 0, sizeof *c);
}

static void ref_flush(int ep, int fd)
{
    ref_conn_t *c = &ref_conns[fd];
    ssize_t n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) {
        ref_close(ep, fd, 0);
        return;
    }
    if (n > 0)
        c->out_off += (uint32_t)n;
    if (c->out_off < c->out_len)
        return;
    free(c->out);
    c->out = NULL;
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void ref_read(int ep, int fd)
{
    ref_conn_t *c = &ref_conns[fd];
    uint32_t have = c->part_len;
    if (have)
        memcpy(ref_buf, c->part, have);
    ssize_t n = recv(fd, ref_buf + have, REF_BUF_BYTES, 0);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        ref_close(ep, fd, 0);
        return;
    }
    uint32_t total = have + (uint32_t)n, off = 0;
    while (total - off >= 4) {
        uint32_t len = (uint32_t)ref_buf[off] | (uint32_t)ref_buf[off + 1] << 8;
        if (len < 4) {
            ref_close(ep, fd, 1);
            return;
        }
        if (len > total - off)
            break;
        off += len;
    }
    c->part_len = total - off;
    if (c->part_len) {
        if (!c->part && !(c->part = malloc(REF_MAX_FRAME))) {
            ref_close(ep, fd, 1);
            return;
        }
        memmove(c->part, ref_buf + off, c->part_len);
    }
    if (off == 0)
        return;
    ssize_t w = send(fd, ref_buf, off, MSG_NOSIGNAL);
    if (w < 0 && errno == EAGAIN)
        w = 0;
    if (w < 0) {
        ref_close(ep, fd, 0);
        return;
    }
    if ((uint32_t)w < off) {
        c->out_len = off - (uint32_t)w;
        c->out_off = 0;
        c->out = malloc(c->out_len);
        if (!c->out) {
            ref_close(ep, fd, 1);
            return;
        }
        memcpy(c->out, ref_buf + w, c->out_len);
        struct epoll_event ev = { .events = EPOLLOUT, .data.fd = fd };
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    }
}

static void ref_accept(int ep, int lfd)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (fd >= ref_max_fd) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            close(fd);
    }
}

static int ref_listen(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4096) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("gskel-ref-epoll: listen");
        exit(1);
    }
    fprintf(stderr, "event=listening port=%u\n", ntohs(a.sin_port));
    return fd;
}

int main(int argc, char **argv)
{
    long port = 7777;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--port") && i + 1 < argc && (port = strtol(argv[++i], &end, 10), *end == 0) &&
            port >= 0 && port <= 65535)
            continue;
        fprintf(stderr, "usage: gskel-ref-epoll [--port N]\n");
        return 2;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    ref_max_fd = (int)(rl.rlim_cur > 1048576 ? 1048576 : rl.rlim_cur);
    ref_conns = calloc((size_t)ref_max_fd, sizeof *ref_conns);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, ref_on_signal);
    signal(SIGINT, ref_on_signal);
    int lfd = ref_listen((uint16_t)port);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
    if (!ref_conns || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        return 1;
    struct epoll_event evs[256];
    while (!ref_stop) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd)
                ref_accept(ep, lfd);
            else if (ref_conns[fd].out)
                ref_flush(ep, fd);
            else
                ref_read(ep, fd);
        }
    }
    return 0;
}

/* POSIX socket helpers: see sock.h. Each returns 0 or -errno and never logs. */
#define _GNU_SOURCE /* accept4, CPU sets, pthread_setname_np */
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/sockios.h>
#endif

int sock_last_error(void) { return -errno; }

static int set_int_opt(sock_t s, int level, int name, int value) {
    return setsockopt(s, level, name, &value, sizeof value) == 0 ? 0 : -errno;
}

int sock_set_nonblocking(sock_t s) {
    int fl = fcntl(s, F_GETFL, 0);
    if (fl < 0 || fcntl(s, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    return 0;
}

int sock_set_nodelay(sock_t s, bool on) { return set_int_opt(s, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0); }

int sock_set_abortive(sock_t s) {
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    return setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0 ? 0 : -errno;
}

int sock_reset_now(sock_t s) {
    struct sockaddr unspec = { .sa_family = AF_UNSPEC };
    return connect(s, &unspec, sizeof unspec) == 0 ? 0 : -errno;
}

int sock_stop_reading(sock_t s) { return shutdown(s, SHUT_RD) == 0 ? 0 : -errno; }

int sock_get_buffers(sock_t s, uint32_t *sndbuf, uint32_t *rcvbuf) {
    int snd = 0, rcv = 0;
    socklen_t l1 = sizeof snd, l2 = sizeof rcv;
    if (getsockopt(s, SOL_SOCKET, SO_SNDBUF, &snd, &l1) < 0) return -errno;
    if (getsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, &l2) < 0) return -errno;
    *sndbuf = (uint32_t)snd;
    *rcvbuf = (uint32_t)rcv;
    return 0;
}

int sock_listen(const sock_listen_opts_t *o, sock_t *out) {
    sock_addr_t addr;
    int rc = sock_resolve(o->host, o->port, &addr);
    if (rc < 0) return rc;
    sock_t s = socket(addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    if ((rc = set_int_opt(s, SOL_SOCKET, SO_REUSEADDR, 1)) < 0) goto fail;
    if (o->reuseport && (rc = set_int_opt(s, SOL_SOCKET, SO_REUSEPORT, 1)) < 0) goto fail;
    /* Before listen(): accepted sockets inherit these and the SYN carries the window scale
     * that fits them; set later, the scale is already fixed. */
    if ((rc = sock_set_buffers(s, o->sndbuf, o->rcvbuf)) < 0) goto fail;
    if (bind(s, (struct sockaddr *)&addr.ss, addr.len) < 0 || listen(s, o->backlog) < 0) {
        rc = -errno;
        goto fail;
    }
    *out = s;
    return 0;
fail:
    close(s);
    return rc;
}

int sock_local_port(sock_t s, uint16_t *port) {
    sock_addr_t a = { .len = sizeof a.ss };
    socklen_t len = sizeof a.ss;
    if (getsockname(s, (struct sockaddr *)&a.ss, &len) < 0) return -errno;
    *port = ntohs(a.ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a.ss)->sin6_port
                                              : ((struct sockaddr_in *)&a.ss)->sin_port);
    return 0;
}

int sock_peer(sock_t s, sock_addr_t *out) {
    socklen_t len = sizeof out->ss;
    if (getpeername(s, (struct sockaddr *)&out->ss, &len) < 0) return -errno;
    out->len = len;
    return 0;
}

int sock_unacked_bytes(sock_t s, uint32_t *out) {
#ifdef SIOCOUTQ
    int n = 0;
    if (ioctl(s, SIOCOUTQ, &n) < 0) return -errno;
    *out = (uint32_t)n;
    return 0;
#else
    (void)s;
    (void)out;
    return -ENOTSUP;
#endif
}

int sock_close(sock_t s) { return close(s) == 0 ? 0 : -errno; }

int sock_dup(sock_t s, sock_t *out) {
    int fd = fcntl(s, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return -errno;
    *out = fd;
    return 0;
}





int sock_spare_open(void) { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

void sock_accept_shed(sock_t listener, int *spare) {
    if (*spare < 0) return;
    close(*spare);
    int victim = accept(listener, NULL, NULL);
    if (victim >= 0) {
        sock_set_abortive(victim);
        close(victim);
    }
    *spare = sock_spare_open();
}


int sock_set_buffers(sock_t s, uint32_t sndbuf, uint32_t rcvbuf) {
    int rc = 0;
    if (sndbuf && (rc = set_int_opt(s, SOL_SOCKET, SO_SNDBUF, (int)sndbuf)) < 0) return rc;
    if (rcvbuf && (rc = set_int_opt(s, SOL_SOCKET, SO_RCVBUF, (int)rcvbuf)) < 0) return rc;
    return 0;
}

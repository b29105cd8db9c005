/* sock: every socket option and socket syscall the server uses, in one place (Redis' anet.c).
 * Each helper is a few lines that return 0 or -errno; none logs. The portable socket type and
 * address live here so nothing above platform/ includes an OS header. */
#ifndef GSKEL_SOCK_H
#define GSKEL_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
typedef SOCKET sock_t;
#define SOCK_INVALID INVALID_SOCKET
#else
#include <sys/socket.h>
typedef int sock_t;
#define SOCK_INVALID (-1)
#endif

typedef struct sock_addr {
    struct sockaddr_storage ss;
    uint32_t len;
} sock_addr_t;

/* A peer address packed small enough to keep in every session (20 bytes, not 132). */
typedef struct sock_ip {
    uint8_t family; /* 4 or 6; 0 = unknown */
    uint16_t port;
    uint8_t addr[16];
} sock_ip_t;

typedef struct sock_listen_opts {
    const char *host;
    uint16_t port;
    int backlog;
    uint32_t sndbuf, rcvbuf; /* 0 = leave autotuning on */
    bool reuseport;          /* one listener per worker (Linux) */
} sock_listen_opts_t;

/* host (numeric, or a name such as "localhost") and port into an address to bind. */
int sock_resolve(const char *host, uint16_t port, sock_addr_t *out);

/* Creates a non-blocking listener with SO_REUSEADDR (and SO_REUSEPORT when asked), sets
 * SO_SNDBUF/SO_RCVBUF before listen() so accepted sockets inherit them and the window scale is
 * negotiated with them. */
int sock_listen(const sock_listen_opts_t *o, sock_t *out);
int sock_set_nonblocking(sock_t s);
int sock_set_nodelay(sock_t s, bool on);
/* SO_LINGER {1,0}: the next close sends RST and drops the send queue. */
int sock_set_abortive(sock_t s);
#ifndef _WIN32
/* Linux TCP, for io_uring's close, which must end the requests a socket has in the kernel before
 * close() can take effect. sock_reset_now: RST now, the fd still open (connect(AF_UNSPEC) runs
 * tcp_disconnect, as close() does under SO_LINGER {1,0}); both queues are dropped and every
 * waiter on the socket wakes and fails. sock_stop_reading: shutdown(SHUT_RD), which puts nothing
 * on the wire; reads end (0) and waiters wake. */
int sock_reset_now(sock_t s);
int sock_stop_reading(sock_t s);
#endif
/* Effective buffer sizes as the kernel reports them (Linux doubles what it was given). */
int sock_get_buffers(sock_t s, uint32_t *sndbuf, uint32_t *rcvbuf);
int sock_local_port(sock_t s, uint16_t *port);
int sock_peer(sock_t s, sock_addr_t *out);
/* Bytes written but not yet acknowledged by the peer (Linux SIOCOUTQ). */
int sock_unacked_bytes(sock_t s, uint32_t *out);
int sock_close(sock_t s);
/* A second descriptor of the same socket (a hand-over to another loop); -errno. */
int sock_dup(sock_t s, sock_t *out);
/* A descriptor held in reserve so a full fd table can still shed connections (EMFILE). */
int sock_spare_open(void);
/* With the fd table full, frees the spare, accepts one pending connection, resets it and takes
 * the spare again (libuv's trick): the client sees RST instead of a hang, the loop no spin. */
void sock_accept_shed(sock_t listener, int *spare);
/* "1.2.3.4:5678" / "[::1]:5678" into buf; returns buf. */
const char *sock_addr_str(const sock_addr_t *a, char *buf, size_t cap);
void sock_ip_pack(const sock_addr_t *a, sock_ip_t *out);
/* "1.2.3.4" or "2001:db8::1" (no port) into ip; -EINVAL if it is neither. */
int sock_ip_parse(const char *s, sock_ip_t *ip);
/* SO_SNDBUF / SO_RCVBUF on a socket (0 = leave as is): on a listener, for connections to come. */
int sock_set_buffers(sock_t s, uint32_t sndbuf, uint32_t rcvbuf);
/* Room for the longest text sock_ip_str / sock_addr_str write: "[v6 address%scope]:port" and a NUL. */
#define SOCK_IP_STR_MAX 64
/* "1.2.3.4:5678" / "[::1]:5678" into buf; returns buf. */
const char *sock_ip_str(const sock_ip_t *ip, char *buf, size_t cap);
/* The address alone, without the port ("1.2.3.4"), for per-address guards and bans. */
const char *sock_ip_host_str(const sock_ip_t *ip, char *buf, size_t cap);
/* Last socket error as -errno (portable). */
int sock_last_error(void);

#endif

/* Winsock helpers: see sock.h. The twin of sock_posix.c; each returns 0 or -errno and never
 * logs. Also Winsock start-up for the whole platform (win.h). */
#define NTDDI_VERSION 0x0A000003 /* NTDDI_WIN10_RS2: TCP_INFO_v0 for SIO_TCP_INFO */
#include "sock.h"

#include <errno.h>
#include <mstcpip.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "win.h"

static INIT_ONCE wsa_once = INIT_ONCE_STATIC_INIT;
static int wsa_status;

static BOOL CALLBACK wsa_start(PINIT_ONCE once, PVOID param, PVOID *ctx) {
    (void)once;
    (void)param;
    (void)ctx;
    WSADATA data;
    int rc = WSAStartup(MAKEWORD(2, 2), &data);
    wsa_status = rc == 0 ? 0 : win_errno((DWORD)rc);
    return TRUE;
}

/* Never paired with WSACleanup: the process ends with its sockets, as on POSIX. */
int win_wsa_init(void) {
    InitOnceExecuteOnce(&wsa_once, wsa_start, NULL, NULL);
    return wsa_status;
}

int sock_last_error(void) { return win_errno((DWORD)WSAGetLastError()); }

static int set_int_opt(sock_t s, int level, int name, int value) {
    return setsockopt(s, level, name, (const char *)&value, sizeof value) == 0 ? 0 : sock_last_error();
}

int sock_set_nonblocking(sock_t s) {
    u_long on = 1;
    return ioctlsocket(s, FIONBIO, &on) == 0 ? 0 : sock_last_error();
}

int sock_set_nodelay(sock_t s, bool on) { return set_int_opt(s, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0); }

int sock_set_abortive(sock_t s) {
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    return setsockopt(s, SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof lg) == 0 ? 0 : sock_last_error();
}

int sock_get_buffers(sock_t s, uint32_t *sndbuf, uint32_t *rcvbuf) {
    int snd = 0, rcv = 0;
    int l1 = sizeof snd, l2 = sizeof rcv;
    if (getsockopt(s, SOL_SOCKET, SO_SNDBUF, (char *)&snd, &l1) != 0) return sock_last_error();
    if (getsockopt(s, SOL_SOCKET, SO_RCVBUF, (char *)&rcv, &l2) != 0) return sock_last_error();
    *sndbuf = (uint32_t)snd;
    *rcvbuf = (uint32_t)rcv;
    return 0;
}

/* Windows has no SO_REUSEPORT: a second listener on a port either fails to bind or, with
 * SO_REUSEADDR, takes the port over. So "one listener per worker" becomes one listening socket
 * shared through duplicated handles: every worker posts its own AcceptEx on it and the kernel
 * hands each connection to one pending AcceptEx, which spreads them over the workers. The
 * registry finds the socket to duplicate; each entry is one handle, removed by sock_close. */
typedef struct shared_listener {
    struct shared_listener *next;
    SOCKET s;
    uint16_t port;
    char host[64];
} shared_listener_t;

static SRWLOCK shared_lock = SRWLOCK_INIT;
static shared_listener_t *shared_head;

static void shared_add(SOCKET s, const char *host, uint16_t port) {
    shared_listener_t *e = gs_calloc(1, sizeof *e);
    e->s = s;
    e->port = port;
    snprintf(e->host, sizeof e->host, "%s", host);
    AcquireSRWLockExclusive(&shared_lock);
    e->next = shared_head;
    shared_head = e;
    ReleaseSRWLockExclusive(&shared_lock);
}

static bool shared_has(SOCKET s) {
    bool found = false;
    AcquireSRWLockShared(&shared_lock);
    for (shared_listener_t *e = shared_head; e && !found; e = e->next) found = e->s == s;
    ReleaseSRWLockShared(&shared_lock);
    return found;
}

/* Every close passes here, sessions' too: they only share a read lock; listeners are rare. */
static void shared_remove(SOCKET s) {
    if (!shared_has(s)) return;
    AcquireSRWLockExclusive(&shared_lock);
    for (shared_listener_t **p = &shared_head; *p; p = &(*p)->next) {
        if ((*p)->s == s) {
            shared_listener_t *e = *p;
            *p = e->next;
            gs_free(e);
            break;
        }
    }
    ReleaseSRWLockExclusive(&shared_lock);
}

/* A new handle on a listener this process already has on host:port; INVALID_SOCKET if none. */
static SOCKET shared_duplicate(const char *host, uint16_t port, int *err) {
    SOCKET dup = INVALID_SOCKET;
    *err = 0;
    AcquireSRWLockShared(&shared_lock);
    for (shared_listener_t *e = shared_head; e; e = e->next) {
        if (e->port != port || strcmp(e->host, host) != 0) continue;
        WSAPROTOCOL_INFOW info;
        if (WSADuplicateSocketW(e->s, GetCurrentProcessId(), &info) == 0)
            dup = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0,
                             WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
        if (dup == INVALID_SOCKET) *err = sock_last_error();
        break;
    }
    ReleaseSRWLockShared(&shared_lock);
    return dup;
}

int sock_listen(const sock_listen_opts_t *o, sock_t *out) {
    int rc = win_wsa_init();
    if (rc < 0) return rc;
    if (o->reuseport && o->port != 0) {
        SOCKET dup = shared_duplicate(o->host, o->port, &rc);
        if (rc < 0) return rc;
        if (dup != INVALID_SOCKET) {
            shared_add(dup, o->host, o->port);
            *out = dup;
            return 0;
        }
    }
    sock_addr_t addr;
    if ((rc = sock_resolve(o->host, o->port, &addr)) < 0) return rc;
    /* Overlapped, for AcceptEx; not inherited by child processes (CreateProcess). */
    SOCKET s = WSASocketW(addr.ss.ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET) return sock_last_error();
    /* Windows' SO_REUSEADDR would let another process bind the same port and steal connections;
     * the exclusive flag is its safe opposite. The TIME_WAIT it would trip over is never kept by
     * this server (docs/closing.md). Stacks without it (old Wine) just go without. */
    rc = set_int_opt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1);
    if (rc < 0 && rc != -ENOPROTOOPT && rc != -EINVAL) goto fail;
    /* Before listen(): accepted sockets inherit these (SO_UPDATE_ACCEPT_CONTEXT) and the SYN
     * carries the window scale that fits them. */
    if (o->sndbuf && (rc = set_int_opt(s, SOL_SOCKET, SO_SNDBUF, (int)o->sndbuf)) < 0) goto fail;
    if (o->rcvbuf && (rc = set_int_opt(s, SOL_SOCKET, SO_RCVBUF, (int)o->rcvbuf)) < 0) goto fail;
    if (bind(s, (struct sockaddr *)&addr.ss, (int)addr.len) != 0 || listen(s, o->backlog) != 0) {
        rc = sock_last_error();
        goto fail;
    }
    if ((rc = sock_set_nonblocking(s)) < 0) goto fail;
    if (o->reuseport) {
        uint16_t bound = o->port;
        if (bound == 0 && (rc = sock_local_port(s, &bound)) < 0) goto fail;
        shared_add(s, o->host, bound);
    }
    *out = s;
    return 0;
fail:
    closesocket(s);
    return rc;
}

int sock_local_port(sock_t s, uint16_t *port) {
    sock_addr_t a;
    int len = sizeof a.ss;
    if (getsockname(s, (struct sockaddr *)&a.ss, &len) != 0) return sock_last_error();
    *port = ntohs(a.ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a.ss)->sin6_port
                                              : ((struct sockaddr_in *)&a.ss)->sin_port);
    return 0;
}

int sock_peer(sock_t s, sock_addr_t *out) {
    int len = sizeof out->ss;
    if (getpeername(s, (struct sockaddr *)&out->ss, &len) != 0) return sock_last_error();
    out->len = (uint32_t)len;
    return 0;
}

/* SIO_TCP_INFO (Windows 10 1703+): BytesInFlight is sent and not yet acknowledged. Bytes the
 * stack still holds unsent are not counted anywhere in TCP_INFO, and the one reason it holds
 * them for long is a peer advertising a zero window: that case reports 1, "not yet", so a
 * caller waiting for an acknowledgement never mistakes a stalled reader for a delivered one. */
int sock_unacked_bytes(sock_t s, uint32_t *out) {
    DWORD version = 0, got = 0;
    TCP_INFO_v0 info;
    if (WSAIoctl(s, SIO_TCP_INFO, &version, sizeof version, &info, sizeof info, &got, NULL, NULL) != 0) {
        int rc = sock_last_error();
        return rc == -EINVAL || rc == -EOPNOTSUPP || rc == -EFAULT ? -ENOTSUP : rc;
    }
    *out = info.BytesInFlight ? (uint32_t)info.BytesInFlight : info.SndWnd == 0 ? 1u : 0u;
    return 0;
}

int sock_dup(sock_t s, sock_t *out) {
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW(s, GetCurrentProcessId(), &info) != 0) return sock_last_error();
    SOCKET d = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    if (d == INVALID_SOCKET) return sock_last_error();
    *out = d;
    return 0;
}

int sock_close(sock_t s) {
    shared_remove(s);
    return closesocket(s) == 0 ? 0 : sock_last_error();
}

/* IOCP accepts into sockets made before the connection arrives (AcceptEx): a full handle table
 * fails that creation, not a level-triggered accept, so there is no spin to break and no spare
 * descriptor to keep. */
int sock_spare_open(void) { return -1; }

void sock_accept_shed(sock_t listener, int *spare) {
    (void)listener;
    (void)spare;
}






int sock_set_buffers(sock_t s, uint32_t sndbuf, uint32_t rcvbuf) {
    int rc = 0;
    if (sndbuf && (rc = set_int_opt(s, SOL_SOCKET, SO_SNDBUF, (int)sndbuf)) < 0) return rc;
    if (rcvbuf && (rc = set_int_opt(s, SOL_SOCKET, SO_RCVBUF, (int)rcvbuf)) < 0) return rc;
    return 0;
}

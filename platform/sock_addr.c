/* Address helpers shared by every platform: packing a peer address small, printing and parsing
 * it. Pure data, no socket calls; sock_posix.c and sock_win.c hold what differs. */
#include "sock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#ifndef _WIN32
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#endif

int sock_resolve(const char *host, uint16_t port, sock_addr_t *out) {
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
    struct addrinfo *res = NULL;
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0 || !res) {
#ifdef _WIN32
        return rc == WSA_NOT_ENOUGH_MEMORY ? -ENOMEM : -EADDRNOTAVAIL;
#else
        return rc == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
#endif
    }
    memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    out->len = (uint32_t)res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

void sock_ip_pack(const sock_addr_t *a, sock_ip_t *out) {
    memset(out, 0, sizeof *out);
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
        out->family = 6;
        out->port = ntohs(v6->sin6_port);
        memcpy(out->addr, &v6->sin6_addr, 16);
    } else if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
        out->family = 4;
        out->port = ntohs(v4->sin_port);
        memcpy(out->addr, &v4->sin_addr, 4);
    }
}

const char *sock_ip_host_str(const sock_ip_t *ip, char *buf, size_t cap) {
    if (ip->family == 0 || !inet_ntop(ip->family == 6 ? AF_INET6 : AF_INET, ip->addr, buf, (socklen_t)cap))
        snprintf(buf, cap, "unknown");
    return buf;
}

const char *sock_ip_str(const sock_ip_t *ip, char *buf, size_t cap) {
    char host[INET6_ADDRSTRLEN];
    sock_ip_host_str(ip, host, sizeof host);
    snprintf(buf, cap, ip->family == 6 ? "[%s]:%u" : "%s:%u", host, ip->port);
    return buf;
}

const char *sock_addr_str(const sock_addr_t *a, char *buf, size_t cap) {
    sock_ip_t ip;
    sock_ip_pack(a, &ip);
    return sock_ip_str(&ip, buf, cap);
}

int sock_ip_parse(const char *s, sock_ip_t *ip) {
    memset(ip, 0, sizeof *ip);
    if (inet_pton(AF_INET, s, ip->addr) == 1) {
        ip->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, ip->addr) == 1) {
        ip->family = 6;
        return 0;
    }
    return -EINVAL;
}

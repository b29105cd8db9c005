/* ipaddr: IPv4 and IPv6 addresses as text, both ways, for the PROXY v1 parser and CIDR lists.
 * Owns one strict grammar (no leading zeros in IPv4 parts, no zone ids, no shortened IPv4) written
 * here rather than inet_pton, so common/ needs no socket headers on any platform and every build
 * reads an address the same way. No I/O, no allocation. */
#ifndef GSKEL_IPADDR_H
#define GSKEL_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Families as platform/sock.h's sock_ip_t numbers them: 0 = none, 4, 6. */
#define IPADDR_NONE 0
#define IPADDR_V4 4
#define IPADDR_V6 6

#define IPADDR_TEXT_MAX 46 /* longest text ipaddr_format writes, NUL included (INET6_ADDRSTRLEN) */

typedef struct ipaddr {
    uint8_t family;    /* IPADDR_V4 or IPADDR_V6 */
    uint8_t bytes[16]; /* network order; IPv4 in bytes[0..4), the rest zero */
} ipaddr_t;

/* Parses s[0..len) (no NUL needed) as one address of `family` (IPADDR_V4, IPADDR_V6, or
 * IPADDR_NONE for either). IPv4: exactly four decimal parts 0..255, no leading zeros ("010" is
 * refused: octal to some readers). IPv6: groups of 1..4 hex digits, at most one "::", an IPv4 tail
 * allowed ("::ffff:1.2.3.4"). 0, or -EINVAL with *out zeroed. */
int ipaddr_parse(const char *s, size_t len, uint8_t family, ipaddr_t *out);

/* A decimal number as address texts write them (IPv4 parts, ports, prefix lengths): s[0..len) all
 * digits, no sign, no leading zero ("0" itself is fine), at most `max`. 0, or -EINVAL. */
int ipaddr_parse_decimal(const char *s, size_t len, unsigned max, unsigned *out);

/* Canonical text into buf (RFC 5952 for IPv6: lower case, the longest run of two or more zero
 * groups as "::", the first such run on a tie; an IPv4-mapped address as "::ffff:1.2.3.4").
 * Returns the length written, or -ENOSPC if cap is too small (buf is then ""). */
int ipaddr_format(const ipaddr_t *a, char *buf, size_t cap);

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack listener reports for an IPv4
 * peer) as the IPv4 address it stands for; any other address unchanged. */
ipaddr_t ipaddr_unmap(const ipaddr_t *a);

bool ipaddr_equal(const ipaddr_t *a, const ipaddr_t *b);

#endif

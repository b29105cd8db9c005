/* cidr: address ranges ("10.0.0.0/8", "::1/128", "127.0.0.1") and fixed-size lists of them, for
 * the PROXY protocol's trusted sources. Strict: a range with host bits set beyond its prefix
 * ("10.0.0.1/8") is refused, not rounded, since it is a typo either way it is read. Addresses come
 * as family + 16 bytes (ipaddr_t), never a sockaddr: common/ knows no sockets. No I/O, and a list is
 * a flat array so configs holding one copy and compare with memcpy / memcmp. */
#ifndef GSKEL_CIDR_H
#define GSKEL_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

#define CIDR_LIST_MAX 32 /* ranges in one list: balancer fleets are a handful of subnets */
#define CIDR_TEXT_MAX (IPADDR_TEXT_MAX + 4) /* "/128" */

typedef struct cidr {
    ipaddr_t net;   /* host bits zero */
    uint8_t prefix; /* 0..32 (IPv4), 0..128 (IPv6) */
} cidr_t;

typedef struct cidr_list {
    uint32_t n;
    cidr_t v[CIDR_LIST_MAX]; /* entries past n are zero, so equal lists compare equal byte for byte */
} cidr_list_t;

/* Parses s[0..len): an address alone (a single host: /32 or /128) or ADDRESS/PREFIX with a decimal
 * prefix of no leading zeros. An IPv4-mapped IPv6 range with a prefix of 96 or more is stored as the
 * IPv4 range it covers. Errors, with *out zeroed:
 *   -EINVAL  not an address, or a bad prefix;
 *   -EDOM    host bits set beyond the prefix (cidr_parse still fills *hint, if not NULL, with the
 *            range those bits belong to, for "did you mean" messages). */
int cidr_parse(const char *s, size_t len, cidr_t *out, cidr_t *hint);

/* "10.0.0.0/8"; a single host prints its prefix too ("127.0.0.1/32"). Length, or -ENOSPC. */
int cidr_format(const cidr_t *c, char *buf, size_t cap);

/* Whether addr lies in c. An IPv4-mapped IPv6 address matches as the IPv4 address it maps. */
bool cidr_match(const cidr_t *c, const ipaddr_t *addr);

/* Appends c: 0, -ENOSPC when full, -EEXIST when the same range is already listed. */
int cidr_list_add(cidr_list_t *l, const cidr_t *c);

/* Whether any range of l holds addr. Linear: lists are short and checked once per connection. */
bool cidr_list_match(const cidr_list_t *l, const ipaddr_t *addr);

#endif

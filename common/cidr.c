/* cidr: range parsing, printing and matching (see cidr.h). */
#include "cidr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CIDR_V4_BITS 32
#define CIDR_V6_BITS 128
#define CIDR_MAPPED_BITS 96 /* the ::ffff:0:0/96 prefix IPv4-mapped addresses share */

static unsigned cidr_bits(uint8_t family)
{
    return family == IPADDR_V4 ? CIDR_V4_BITS : CIDR_V6_BITS;
}

/* Clears every bit of a past the first `prefix`; returns whether any was set. */
static bool cidr_mask(ipaddr_t *a, unsigned prefix)
{
    bool had = false;

    for (unsigned i = 0; i < sizeof(a->bytes); i++) {
        unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
        uint8_t m = (uint8_t)(keep ? 0xffu << (8 - keep) : 0);

        had |= (a->bytes[i] & ~m) != 0;
        a->bytes[i] &= m;
    }
    return had;
}

int cidr_parse(const char *s, size_t len, cidr_t *out, cidr_t *hint)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    ipaddr_t a, m;
    unsigned prefix;
    cidr_t c;

    memset(out, 0, sizeof(*out));
    if (ipaddr_parse(s, alen, IPADDR_NONE, &a) != 0)
        return -EINVAL;
    prefix = cidr_bits(a.family);
    if (slash && ipaddr_parse_decimal(slash + 1, len - alen - 1, prefix, &prefix) != 0)
        return -EINVAL;
    m = ipaddr_unmap(&a);
    if (m.family != a.family && prefix >= CIDR_MAPPED_BITS) {
        a = m;
        prefix -= CIDR_MAPPED_BITS;
    }
    memset(&c, 0, sizeof(c));
    c.net = a;
    c.prefix = (uint8_t)prefix;
    if (cidr_mask(&c.net, prefix)) {
        if (hint)
            *hint = c;
        return -EDOM;
    }
    *out = c;
    return 0;
}

int cidr_format(const cidr_t *c, char *buf, size_t cap)
{
    int n = ipaddr_format(&c->net, buf, cap);
    int w;

    if (n < 0)
        return n;
    w = snprintf(buf + n, cap - (size_t)n, "/%u", (unsigned)c->prefix);
    if (w < 0 || (size_t)w >= cap - (size_t)n) {
        buf[0] = '\0';
        return -ENOSPC;
    }
    return n + w;
}

bool cidr_match(const cidr_t *c, const ipaddr_t *addr)
{
    ipaddr_t a = ipaddr_unmap(addr);

    if (a.family != c->net.family)
        return false;
    cidr_mask(&a, c->prefix);
    return memcmp(a.bytes, c->net.bytes, sizeof(a.bytes)) == 0;
}

int cidr_list_add(cidr_list_t *l, const cidr_t *c)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i].prefix == c->prefix && ipaddr_equal(&l->v[i].net, &c->net))
            return -EEXIST;
    if (l->n >= CIDR_LIST_MAX)
        return -ENOSPC;
    l->v[l->n++] = *c;
    return 0;
}

bool cidr_list_match(const cidr_list_t *l, const ipaddr_t *addr)
{
    for (uint32_t i = 0; i < l->n && i < CIDR_LIST_MAX; i++)
        if (cidr_match(&l->v[i], addr))
            return true;
    return false;
}

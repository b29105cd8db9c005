/* ipaddr: the address grammar and its canonical text (see ipaddr.h). */
#include "ipaddr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define IPADDR_V6_GROUP_DIGITS 4
#define IPADDR_V6_BYTES 16

/* The prefix every IPv4-mapped IPv6 address starts with (RFC 4291 2.5.5.2). */
static const uint8_t ipaddr_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int ipaddr_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ipaddr_parse_decimal(const char *s, size_t len, unsigned max, unsigned *out)
{
    unsigned long v = 0;

    if (len == 0 || (len > 1 && s[0] == '0'))
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > max)
            return -EINVAL; /* checked per digit, so a long run of digits cannot overflow */
    }
    *out = (unsigned)v;
    return 0;
}

static int ipaddr_parse_v4(const char *s, size_t len, uint8_t out[4])
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        size_t start;
        unsigned v;

        if (part > 0) {
            if (i >= len || s[i] != '.')
                return -EINVAL;
            i++;
        }
        start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (ipaddr_parse_decimal(s + start, i - start, UINT8_MAX, &v) != 0)
            return -EINVAL;
        out[part] = (uint8_t)v;
    }
    return i == len ? 0 : -EINVAL;
}

static int ipaddr_parse_v6(const char *s, size_t len, uint8_t out[IPADDR_V6_BYTES])
{
    uint8_t b[IPADDR_V6_BYTES] = {0};
    size_t i = 0, n = 0; /* n: bytes of b filled, in the order written */
    long gap = -1;       /* where "::" stands in b */

    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (len >= 1 && s[0] == ':') {
        return -EINVAL;
    }
    while (i < len) {
        size_t start = i, digits;
        unsigned v = 0;

        while (i < len && ipaddr_hex(s[i]) >= 0 && i - start <= IPADDR_V6_GROUP_DIGITS)
            v = v * 16 + (unsigned)ipaddr_hex(s[i++]);
        if (i < len && s[i] == '.') { /* an IPv4 tail: the last 32 bits, to the end */
            if (n + 4 > IPADDR_V6_BYTES || ipaddr_parse_v4(s + start, len - start, b + n) != 0)
                return -EINVAL;
            n += 4;
            break;
        }
        digits = i - start;
        if (digits == 0 || digits > IPADDR_V6_GROUP_DIGITS || n + 2 > IPADDR_V6_BYTES)
            return -EINVAL;
        b[n++] = (uint8_t)(v >> 8);
        b[n++] = (uint8_t)v;
        if (i == len)
            break;
        if (s[i++] != ':' || i == len) /* a lone trailing ':' */
            return -EINVAL;
        if (s[i] == ':') {
            if (gap >= 0)
                return -EINVAL;
            gap = (long)n;
            i++;
        }
    }
    if (gap < 0) {
        if (n != IPADDR_V6_BYTES)
            return -EINVAL;
    } else {
        size_t tail = n - (size_t)gap;

        if (n == IPADDR_V6_BYTES)
            return -EINVAL; /* "::" stands for at least one group */
        memmove(b + IPADDR_V6_BYTES - tail, b + gap, tail);
        memset(b + gap, 0, IPADDR_V6_BYTES - n);
    }
    memcpy(out, b, IPADDR_V6_BYTES);
    return 0;
}

int ipaddr_parse(const char *s, size_t len, uint8_t family, ipaddr_t *out)
{
    memset(out, 0, sizeof(*out));
    if ((family == IPADDR_V4 || family == IPADDR_NONE) && ipaddr_parse_v4(s, len, out->bytes) == 0) {
        out->family = IPADDR_V4;
        return 0;
    }
    memset(out, 0, sizeof(*out));
    if ((family == IPADDR_V6 || family == IPADDR_NONE) && ipaddr_parse_v6(s, len, out->bytes) == 0) {
        out->family = IPADDR_V6;
        return 0;
    }
    memset(out, 0, sizeof(*out));
    return -EINVAL;
}

static bool ipaddr_is_mapped(const ipaddr_t *a)
{
    return a->family == IPADDR_V6 && memcmp(a->bytes, ipaddr_mapped_prefix, sizeof(ipaddr_mapped_prefix)) == 0;
}

/* The longest run of two or more zero groups (the first on a tie): *start, *run; run 0 if none. */
static void ipaddr_zero_run(const uint8_t *b, int *start, int *run)
{
    *start = -1;
    *run = 0;
    for (int g = 0; g < 8;) {
        int n = 0;

        while (g + n < 8 && b[2 * (g + n)] == 0 && b[2 * (g + n) + 1] == 0)
            n++;
        if (n >= 2 && n > *run) {
            *start = g;
            *run = n;
        }
        g += n > 0 ? n : 1;
    }
}

int ipaddr_format(const ipaddr_t *a, char *buf, size_t cap)
{
    const uint8_t *b = a->bytes;
    size_t n = 0;
    int start, run, w;

    if (cap == 0)
        return -ENOSPC;
    buf[0] = '\0';
    if (a->family == IPADDR_V4) {
        w = snprintf(buf, cap, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    } else if (ipaddr_is_mapped(a)) {
        w = snprintf(buf, cap, "::ffff:%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
    } else if (a->family == IPADDR_V6) {
        ipaddr_zero_run(b, &start, &run);
        for (int g = 0; g < 8 && n < cap; g++) {
            if (g == start) {
                n += (size_t)snprintf(buf + n, cap - n, "::");
                g += run - 1;
                continue;
            }
            n += (size_t)snprintf(buf + n, cap - n, "%s%x", n && buf[n - 1] != ':' ? ":" : "",
                                  (unsigned)(b[2 * g] << 8 | b[2 * g + 1]));
        }
        w = (int)n;
    } else {
        return -EINVAL;
    }
    if (w < 0 || (size_t)w >= cap) {
        buf[0] = '\0';
        return -ENOSPC;
    }
    return w;
}

ipaddr_t ipaddr_unmap(const ipaddr_t *a)
{
    ipaddr_t v4;

    if (!ipaddr_is_mapped(a))
        return *a;
    memset(&v4, 0, sizeof(v4));
    v4.family = IPADDR_V4;
    memcpy(v4.bytes, a->bytes + sizeof(ipaddr_mapped_prefix), 4);
    return v4;
}

bool ipaddr_equal(const ipaddr_t *a, const ipaddr_t *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

/* proxy_proto: the v1 and v2 header parsers (see proxy_proto.h). Each call reparses from the
 * first byte: a header is at most PROXY_HEADER_MAX bytes and arrives once per connection, so
 * keeping no state costs nothing and leaves nothing to go stale. */
#include "proxy_proto.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define PROXY_V1_PORT_DIGITS 5
#define PROXY_V1_V4_TEXT 15 /* "255.255.255.255" */
#define PROXY_V1_V6_TEXT (IPADDR_TEXT_MAX - 1)
#define PROXY_V1_FIELDS 4 /* source, destination, source port, destination port */

#define PROXY_V2_VERSION 0x2
#define PROXY_V2_CMD_LOCAL 0x0
#define PROXY_V2_CMD_PROXY 0x1
#define PROXY_V2_AF_UNSPEC 0x0
#define PROXY_V2_AF_INET 0x1
#define PROXY_V2_AF_INET6 0x2
#define PROXY_V2_AF_MAX 0x3 /* AF_UNIX: valid in the spec, refused for a game listener */
#define PROXY_V2_TP_STREAM 0x1
#define PROXY_V2_TP_MAX 0x2 /* DGRAM */
#define PROXY_V2_INET_BLOCK 12  /* 2 x 4 address bytes, 2 x 2 port bytes */
#define PROXY_V2_INET6_BLOCK 36 /* 2 x 16, 2 x 2 */
#define PROXY_V2_TLV_HEAD 3     /* type, u16 length */

static uint16_t proxy_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* -EAGAIN if buf[0..len) is a prefix of sig (or all of it and more), else -EPROTO; 0 once the whole
 * signature is there. */
static int proxy_match_sig(const uint8_t *buf, size_t len, const char *sig, size_t sig_len)
{
    size_t n = len < sig_len ? len : sig_len;

    if (n != 0 && memcmp(buf, sig, n) != 0) /* buf may be NULL when len is 0 */
        return -EPROTO;
    return len >= sig_len ? 0 : -EAGAIN;
}

/* ---- v1 ---- */

typedef enum { PROXY_V1_TCP4, PROXY_V1_TCP6, PROXY_V1_UNKNOWN, PROXY_V1_NPROTO } proxy_v1_proto_t;

static const char *const proxy_v1_protos[PROXY_V1_NPROTO] = {"TCP4", "TCP6", "UNKNOWN"};

static int proxy_v1_port(const uint8_t *s, size_t n, uint16_t *out)
{
    unsigned v;

    if (ipaddr_parse_decimal((const char *)s, n, UINT16_MAX, &v) != 0)
        return -EPROTO;
    *out = (uint16_t)v;
    return 0;
}

static bool proxy_v1_addr_char(uint8_t family, uint8_t c)
{
    if ((c >= '0' && c <= '9') || c == '.')
        return true;
    return family == IPADDR_V6 && (c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

/* A field cut off by the end of the bytes so far: could it still become a valid one? */
static int proxy_v1_partial_field(int field, uint8_t family, const uint8_t *s, size_t n)
{
    size_t max = field >= 2 ? PROXY_V1_PORT_DIGITS : family == IPADDR_V4 ? PROXY_V1_V4_TEXT : PROXY_V1_V6_TEXT;

    if (n > max || (field >= 2 && n > 1 && s[0] == '0'))
        return -EPROTO;
    for (size_t i = 0; i < n; i++)
        if (field >= 2 ? s[i] < '0' || s[i] > '9' : !proxy_v1_addr_char(family, s[i]))
            return -EPROTO;
    return -EAGAIN;
}

/* The address fields of a TCP4/TCP6 line, from p to the line's end (the CR, or the end of the bytes
 * so far when !complete). */
static int proxy_v1_fields(const uint8_t *line, size_t p, size_t end, bool complete, uint8_t family,
                           proxy_header_t *h)
{
    for (int f = 0; f < PROXY_V1_FIELDS; f++) {
        const uint8_t *sp = memchr(line + p, ' ', end - p);
        size_t stop = sp ? (size_t)(sp - line) : end;
        const uint8_t *s = line + p;
        size_t n = stop - p;
        bool last = f == PROXY_V1_FIELDS - 1;
        ipaddr_t *ip = f == 0 ? &h->src.ip : &h->dst.ip;
        uint16_t *port = f == 2 ? &h->src.port : &h->dst.port;

        if (sp == NULL && !complete)
            return proxy_v1_partial_field(f, family, s, n);
        if (n == 0 || (sp != NULL) == last) /* two spaces, a field short, or one too many */
            return -EPROTO;
        if (f < 2 ? ipaddr_parse((const char *)s, n, family, ip) != 0 : proxy_v1_port(s, n, port) != 0)
            return -EPROTO;
        p = stop + 1;
    }
    return 0;
}

/* The protocol word at line[p..): its index, or -EAGAIN (a prefix of one) / -EPROTO. */
static int proxy_v1_proto(const uint8_t *line, size_t p, size_t end, bool complete, size_t *word_end)
{
    const uint8_t *sp = memchr(line + p, ' ', end - p);
    size_t stop = sp ? (size_t)(sp - line) : end, n = stop - p;
    bool cut = sp == NULL && !complete;

    for (int i = 0; i < PROXY_V1_NPROTO; i++) {
        size_t wn = strlen(proxy_v1_protos[i]);

        if (cut && n <= wn && memcmp(line + p, proxy_v1_protos[i], n) == 0)
            return -EAGAIN;
        if (!cut && n == wn && memcmp(line + p, proxy_v1_protos[i], n) == 0) {
            *word_end = stop;
            return i;
        }
    }
    return -EPROTO;
}

static int proxy_v1(const uint8_t *buf, size_t len, proxy_header_t *out)
{
    size_t scan = len < PROXY_V1_MAX ? len : PROXY_V1_MAX, end = scan, word_end = 0;
    bool complete = false;
    proxy_header_t h;
    int rc, proto;

    rc = proxy_match_sig(buf, len, PROXY_SIG_V1, PROXY_SIG_V1_LEN);
    if (rc == -EPROTO || len < PROXY_SIG_V1_LEN)
        return rc;
    for (size_t i = 0; i < scan; i++) {
        if (buf[i] == '\n')
            return -EPROTO; /* before any CR: a bare LF */
        if (buf[i] == '\r') {
            if (i + 1 < len && buf[i + 1] != '\n')
                return -EPROTO;
            if (i + 2 > PROXY_V1_MAX)
                return -EPROTO;
            end = i;
            complete = i + 1 < len;
            break;
        }
    }
    if (end == scan && len >= PROXY_V1_MAX)
        return -EPROTO; /* no CRLF within the longest line */
    memset(&h, 0, sizeof(h));
    proto = proxy_v1_proto(buf, PROXY_SIG_V1_LEN, end, complete, &word_end);
    if (proto < 0)
        return proto;
    if (proto == PROXY_V1_UNKNOWN) {
        /* The rest of the line is the sender's to fill and ours to ignore: printable text only. */
        for (size_t i = word_end; i < end; i++)
            if (buf[i] < ' ' || buf[i] > '~')
                return -EPROTO;
    } else {
        if (word_end == end && complete)
            return -EPROTO; /* "PROXY TCP4\r\n" */
        rc = proxy_v1_fields(buf, word_end + 1, end, complete,
                             proto == PROXY_V1_TCP4 ? IPADDR_V4 : IPADDR_V6, &h);
        if (rc < 0)
            return rc;
    }
    if (!complete)
        return -EAGAIN;
    h.version = 1;
    h.command = PROXY_CMD_PROXY;
    h.len = end + 2;
    *out = h;
    return (int)h.len;
}

/* ---- v2 ---- */

/* The TLVs in buf[p..total), as far as the bytes so far go: -EPROTO as soon as one cannot fit. */
static int proxy_v2_tlvs(const uint8_t *buf, size_t len, size_t p, size_t total)
{
    while (p < total) {
        size_t tlv_end;

        if (total - p < PROXY_V2_TLV_HEAD)
            return -EPROTO; /* 1 or 2 bytes left: no TLV is that small */
        if (len < p + PROXY_V2_TLV_HEAD)
            return -EAGAIN;
        tlv_end = p + PROXY_V2_TLV_HEAD + proxy_be16(buf + p + 1);
        if (tlv_end > total)
            return -EPROTO;
        p = tlv_end;
    }
    return len >= total ? 0 : -EAGAIN;
}

static void proxy_v2_endpoints(const uint8_t *a, uint8_t family, proxy_header_t *h)
{
    size_t n = family == IPADDR_V4 ? 4 : 16;

    h->src.ip.family = h->dst.ip.family = family;
    memcpy(h->src.ip.bytes, a, n);
    memcpy(h->dst.ip.bytes, a + n, n);
    h->src.port = proxy_be16(a + 2 * n);
    h->dst.port = proxy_be16(a + 2 * n + 2);
}

static int proxy_v2(const uint8_t *buf, size_t len, proxy_header_t *out)
{
    int rc = proxy_match_sig(buf, len, PROXY_SIG_V2, PROXY_SIG_V2_LEN);
    unsigned cmd, af, tp;
    size_t block, total;
    proxy_header_t h;

    if (rc == -EPROTO)
        return rc;
    if (len <= PROXY_SIG_V2_LEN)
        return -EAGAIN;
    cmd = buf[12] & 0x0f;
    if (buf[12] >> 4 != PROXY_V2_VERSION || (cmd != PROXY_V2_CMD_LOCAL && cmd != PROXY_V2_CMD_PROXY))
        return -EPROTO;
    if (len < 14)
        return -EAGAIN;
    af = buf[13] >> 4;
    tp = buf[13] & 0x0f;
    if (af > PROXY_V2_AF_MAX || tp > PROXY_V2_TP_MAX)
        return -EPROTO; /* unassigned values: the spec has receivers refuse them */
    /* PROXY: TCP over IPv4 / IPv6, or nothing said (0x00); a LOCAL block is skipped unread. */
    if (cmd == PROXY_V2_CMD_PROXY && buf[13] != 0 &&
        !((af == PROXY_V2_AF_INET || af == PROXY_V2_AF_INET6) && tp == PROXY_V2_TP_STREAM))
        return -EPROTO;
    if (len < PROXY_V2_FIXED)
        return -EAGAIN;
    total = PROXY_V2_FIXED + (size_t)proxy_be16(buf + 14);
    if (total > PROXY_HEADER_MAX)
        return -EPROTO;
    block = cmd == PROXY_V2_CMD_LOCAL ? total - PROXY_V2_FIXED
            : af == PROXY_V2_AF_INET  ? PROXY_V2_INET_BLOCK
            : af == PROXY_V2_AF_INET6 ? PROXY_V2_INET6_BLOCK
                                      : 0;
    if (PROXY_V2_FIXED + block > total)
        return -EPROTO; /* the addresses do not fit the length given */
    rc = proxy_v2_tlvs(buf, len, PROXY_V2_FIXED + block, total);
    if (rc < 0)
        return rc;
    memset(&h, 0, sizeof(h));
    h.version = 2;
    h.command = cmd == PROXY_V2_CMD_LOCAL ? PROXY_CMD_LOCAL : PROXY_CMD_PROXY;
    if (h.command == PROXY_CMD_PROXY && af != PROXY_V2_AF_UNSPEC)
        proxy_v2_endpoints(buf + PROXY_V2_FIXED, af == PROXY_V2_AF_INET ? IPADDR_V4 : IPADDR_V6, &h);
    h.len = total;
    *out = h;
    return (int)total;
}

int proxy_parse(const uint8_t *buf, size_t len, proxy_allow_t allow, proxy_header_t *out)
{
    if (len == 0)
        return -EAGAIN;
    /* The two signatures differ in their first byte, so it picks the parser. */
    if ((allow & PROXY_ALLOW_V2) && buf[0] == (uint8_t)PROXY_SIG_V2[0])
        return proxy_v2(buf, len, out);
    if ((allow & PROXY_ALLOW_V1) && buf[0] == (uint8_t)PROXY_SIG_V1[0])
        return proxy_v1(buf, len, out);
    return -EPROTO;
}

int proxy_sniff(const uint8_t *buf, size_t len)
{
    int v1 = proxy_match_sig(buf, len, PROXY_SIG_V1, PROXY_SIG_V1_LEN);
    int v2 = proxy_match_sig(buf, len, PROXY_SIG_V2, PROXY_SIG_V2_LEN);

    if (v1 == 0 || v2 == 0)
        return 1;
    return v1 == -EAGAIN || v2 == -EAGAIN ? -EAGAIN : 0;
}

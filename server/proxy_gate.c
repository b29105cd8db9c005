/* The PREAMBLE of a session behind a balancer: see proxy_gate.h. */
#include "proxy_gate.h"

#include <errno.h>
#include <string.h>

static ipaddr_t ipaddr_of(const sock_ip_t *ip) {
    ipaddr_t a = { .family = ip->family };
    memcpy(a.bytes, ip->addr, sizeof a.bytes);
    return a;
}

proxy_gate_mode_t proxy_gate_classify(const cfg_t *cfg, const sock_ip_t *source) {
    if (cfg->listen.proxy_protocol == CFG_PROXY_OFF) return PROXY_GATE_NONE;
    ipaddr_t a = ipaddr_of(source);
    return cidr_list_match(&cfg->listen.trusted_proxies, &a) ? PROXY_GATE_EXPECT : PROXY_GATE_SNIFF;
}

static proxy_allow_t allowed(const cfg_t *cfg) {
    switch (cfg->listen.proxy_protocol) {
    case CFG_PROXY_V1: return PROXY_ALLOW_V1;
    case CFG_PROXY_V2: return PROXY_ALLOW_V2;
    default: return PROXY_ALLOW_ANY;
    }
}

/* The verdict on buf[0..n): 0 to wait for more, 1 decided (*out filled, rest into buf). */
static int decide(const session_t *s, const cfg_t *cfg, const uint8_t *buf, size_t n, proxy_gate_result_t *out) {
    if (s->preamble == PROXY_GATE_SNIFF) {
        int sniff = proxy_sniff(buf, n);
        if (sniff == -EAGAIN) return n >= PROXY_GATE_BUFFER_BYTES ? (out->refused = REASON_PROXY_UNTRUSTED, 1) : 0;
        if (sniff == 1) out->refused = REASON_PROXY_UNTRUSTED;
        else {
            out->rest = buf; /* a direct client's own first bytes */
            out->rest_len = n;
        }
        return 1;
    }
    proxy_header_t h;
    int rc = proxy_parse(buf, n, allowed(cfg), &h);
    if (rc == -EAGAIN) return n >= PROXY_GATE_BUFFER_BYTES ? (out->refused = REASON_BAD_PROXY_HEADER, 1) : 0;
    if (rc < 0) {
        out->refused = REASON_BAD_PROXY_HEADER;
        return 1;
    }
    /* LOCAL (a health check) and UNKNOWN keep the socket's address, as the spec says. */
    if (h.command == PROXY_CMD_PROXY && h.src.ip.family != IPADDR_NONE) {
        ipaddr_t real = ipaddr_unmap(&h.src.ip);
        out->has_client = true;
        out->client.family = real.family;
        out->client.port = h.src.port;
        memcpy(out->client.addr, real.bytes, sizeof out->client.addr);
    }
    out->rest_len = n - h.len;
    out->rest = buf + h.len;
    return 1;
}

int proxy_gate_feed(session_t *s, pool_t *bufs, const cfg_t *cfg, const uint8_t *data, size_t len,
                    uint8_t *scratch, proxy_gate_result_t *out) {
    memset(out, 0, sizeof *out);
    frame_reader_t *r = &s->reader;
    if (!r->partial) {
        /* Most preambles come whole in one read: decided on the read's own bytes, no copy. */
        if (decide(s, cfg, data, len, out)) return 1;
        r->partial = pool_get(bufs);
        r->have = 0;
    }
    size_t room = PROXY_GATE_BUFFER_BYTES - r->have;
    size_t take = len < room ? len : room;
    memcpy(r->partial + r->have, data, take);
    r->have = (uint16_t)(r->have + take);
    if (!decide(s, cfg, r->partial, r->have, out)) return 0;
    /* What followed the preamble: its part in the buffer (copied out, the buffer goes back), then
     * the read's bytes that did not fit in it. */
    if (out->rest_len) memcpy(scratch, out->rest, out->rest_len);
    out->rest = scratch;
    out->more = data + take;
    out->more_len = out->refused ? 0 : len - take;
    pool_put(bufs, r->partial);
    r->partial = NULL;
    r->have = 0;
    return 1;
}

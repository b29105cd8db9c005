/* proxy_gate: the PREAMBLE of a session behind listen.proxy_protocol. Decides at accept what a
 * connection owes before its first frame (a PROXY header from a trusted balancer; from anyone
 * else, first bytes that are not one), collects those bytes, and hands back the client's real
 * address and the stream bytes that followed the header. The parsing is common/proxy_proto's;
 * the session's state and the guard stay with the worker: this only answers. */
#ifndef GSKEL_PROXY_GATE_H
#define GSKEL_PROXY_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pool.h"
#include "proxy_proto.h"
#include "reason.h"
#include "session.h"

typedef enum {
    PROXY_GATE_NONE,   /* proxy_protocol off: frames from the first byte */
    PROXY_GATE_SNIFF,  /* an untrusted source: a direct client, which must not send a header */
    PROXY_GATE_EXPECT, /* a trusted balancer: a header must come first */
} proxy_gate_mode_t;

/* The object size the preamble's buffer needs from the frame-buffer pool. */
#define PROXY_GATE_BUFFER_BYTES PROXY_HEADER_MAX

proxy_gate_mode_t proxy_gate_classify(const cfg_t *cfg, const sock_ip_t *source);

typedef struct proxy_gate_result {
    reason_t refused;       /* non-zero: reset the connection for this */
    bool has_client;        /* client holds the address the header gave (EXPECT, PROXY command) */
    sock_ip_t client;
    const uint8_t *rest;    /* stream bytes after the preamble, to go to the frame reader, */
    size_t rest_len;
    const uint8_t *more;    /* then these */
    size_t more_len;
} proxy_gate_result_t;

/* Feeds the bytes of one read to a session in PREAMBLE (s->preamble says which mode); bufs is the
 * pool of s->reader, with objects of at least PROXY_GATE_BUFFER_BYTES. Returns 0 while more bytes
 * are needed; 1 when decided: *out says how. out->rest and out->more point into data or into
 * `scratch` (PROXY_GATE_BUFFER_BYTES): valid until the next call. The preamble's buffer is back
 * in the pool on return 1. */
int proxy_gate_feed(session_t *s, pool_t *bufs, const cfg_t *cfg, const uint8_t *data, size_t len,
                    uint8_t *scratch, proxy_gate_result_t *out);

#endif

/* proxy_proto: a strict streaming parser of the PROXY protocol header (HAProxy's
 * doc/proxy-protocol.txt, v1 text and v2 binary) that a load balancer puts before a client's first
 * byte, so the server learns the client's real address. Owns only the bytes: no I/O, no
 * allocation, no state between calls (call it again on the longer buffer). Whether the sender may
 * send one at all (its address in the trusted list) is the caller's check, made before parsing. */
#ifndef GSKEL_PROXY_PROTO_H
#define GSKEL_PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

#define PROXY_V1_MAX 107 /* longest v1 line, CRLF included ("PROXY UNKNOWN <v6> <v6> 65535 65535") */
#define PROXY_V2_FIXED 16 /* signature, ver/cmd, family, length */
/* Longest header accepted, v2 TLVs included: the spec's own bound (a header fits the smallest
 * segment every TCP host takes, 576 - 40). HAProxy's with TLS TLVs is about 60 bytes. */
#define PROXY_HEADER_MAX 536
#define PROXY_SIG_V1 "PROXY "
#define PROXY_SIG_V1_LEN 6
#define PROXY_SIG_V2 "\r\n\r\n\0\r\nQUIT\n"
#define PROXY_SIG_V2_LEN 12

/* Which versions a listener takes (config listen.proxy_protocol). */
typedef enum { PROXY_ALLOW_V1 = 1, PROXY_ALLOW_V2 = 2, PROXY_ALLOW_ANY = 3 } proxy_allow_t;

typedef enum {
    PROXY_CMD_PROXY, /* relayed for a client: src/dst are the client's, if family != 0 */
    PROXY_CMD_LOCAL  /* the balancer's own connection (v2 LOCAL, a health check): no addresses */
} proxy_cmd_t;

typedef struct proxy_endpoint {
    ipaddr_t ip; /* ip.family IPADDR_NONE: not given; use the socket's own address */
    uint16_t port;
} proxy_endpoint_t;

typedef struct proxy_header {
    uint8_t version; /* 1 or 2 */
    proxy_cmd_t command;
    /* src.ip.family is IPADDR_NONE for LOCAL, v1 UNKNOWN and v2 PROXY over AF_UNSPEC: the spec has
     * the receiver keep the real connection's addresses then. */
    proxy_endpoint_t src, dst;
    size_t len; /* bytes of the header; the client's own stream starts after them */
} proxy_header_t;

/* Parses the header at the start of buf[0..len), the bytes received so far. Returns:
 *   > 0      a complete header of that many bytes (<= PROXY_HEADER_MAX); *out is filled;
 *   -EAGAIN  everything so far can begin a valid header: wait for more bytes;
 *   -EPROTO  the bytes so far already rule a header out (bad signature, a version not in `allow`,
 *            a bad field, a v1 line past PROXY_V1_MAX without CRLF, a v2 length past the cap).
 * A valid header gives -EAGAIN for every shorter prefix, and once -EPROTO, every longer buffer
 * gives -EPROTO too: garbage is refused as soon as it is garbage, never after a timeout.
 * *out is written only on success.
 * v1: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n", exactly one space apart, addresses of the named
 *   family (no leading zeros in IPv4 parts or ports), ports 0..65535; or "PROXY UNKNOWN" then
 *   CRLF, or a space and printable ASCII up to the CRLF (ignored, as the spec says).
 *   CR or LF alone anywhere is -EPROTO.
 * v2: version 2; command LOCAL (the rest of the block is skipped) or PROXY with AF_UNSPEC,
 *   AF_INET or AF_INET6 over STREAM (UNSPEC or TCP; DGRAM and AF_UNIX are -EPROTO: a game
 *   listener relays TCP). The address block must fit the length; what follows must be whole TLVs
 *   (type, u16 length, value), which are skipped, CRC32C included (not checked). */
int proxy_parse(const uint8_t *buf, size_t len, proxy_allow_t allow, proxy_header_t *out);

/* Whether buf[0..len) begins like a PROXY header of either version, to catch an untrusted source
 * sending one: 1 (the whole v1 "PROXY " or the 12-byte v2 signature is there), 0 (it cannot be),
 * -EAGAIN (a prefix of a signature: too few bytes to tell). */
int proxy_sniff(const uint8_t *buf, size_t len);

#endif

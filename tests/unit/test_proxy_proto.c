/* proxy_proto: the spec's examples and limits, the bytes HAProxy 2.6 really sends (captured from
 * `send-proxy`, `send-proxy-v2`, with TLS termination and TLVs, and its health checks), every
 * prefix of a valid header, each malformed kind refused as early as the bytes allow, the allowed
 * versions, and the sniff for untrusted sources. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"

/* Captured from haproxy 2.6.12 (Debian 12) on loopback, client data "hello" after the header
 * (docs/deploying.md#proxy-protocol-bytes says how). */
/* send-proxy, client 127.0.0.7:48861 to the frontend 127.0.0.1:17001 */
#define HAP_V1_TCP4 "50524f58592054435034203132372e302e302e37203132372e302e302e312034383836312031373030310d0a68656c6c6f"
/* send-proxy, client [::1]:45704 to [::1]:17004 */
#define HAP_V1_TCP6 "50524f58592054435036203a3a31203a3a312034353730342031373030340d0a68656c6c6f"
/* send-proxy with check-send-proxy: the health check's own endpoints, 127.0.0.1:37500 to :17100 */
#define HAP_V1_CHECK "50524f58592054435034203132372e302e302e31203132372e302e302e312033373530302031373130300d0a"
/* send-proxy-v2, 127.0.0.7:50475 to 127.0.0.1:17002 */
#define HAP_V2_TCP4 "0d0a0d0a000d0a515549540a2111000c7f0000077f000001c52b426a68656c6c6f"
/* send-proxy-v2, [::1]:48186 to [::1]:17005 */
#define HAP_V2_TCP6 "0d0a0d0a000d0a515549540a21210024000000000000000000000000000000010000000000000000000000000000" \
                    "0001bc3a426d68656c6c6f"
/* send-proxy-v2-ssl behind `bind ... ssl crt`: one PP2_TYPE_SSL TLV with a TLSv1.3 sub-TLV */
#define HAP_V2_TLS "0d0a0d0a000d0a515549540a2111001e7f0000097f000001d9a1427020000f0100000000210007544c5376312e33" \
                   "68656c6c6f"
/* proxy-v2-options ssl,authority,unique-id,crc32c,ssl-cipher,cert-sig,cert-key behind TLS with
 * ALPN gskel/1 and SNI game.example: CRC32C, ALPN, AUTHORITY, UNIQUE_ID and SSL TLVs, 170 bytes */
#define HAP_V2_TLVS "0d0a0d0a000d0a515549540a2111009a7f0000097f000001e40d426f03000436626ab001000767736b656c2f31" \
                    "02000c67616d652e6578616d706c6505002937463030303030393a453430445f37463030303030313a343236" \
                    "465f36423134353431335f3030303020003f0100000000210007544c5376312e332500075253413230343824" \
                    "000a5253412d534841323536230016544c535f4145535f3235365f47434d5f53484133383468656c6c6f"
/* send-proxy-v2 with check-send-proxy: the health check says LOCAL */
#define HAP_V2_LOCAL "0d0a0d0a000d0a515549540a20000000"

#define V2_SIG "0d0a0d0a000d0a515549540a"

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes_t;

static bytes_t unhex(const char *h)
{
    bytes_t b = {malloc(strlen(h) / 2 + 1), strlen(h) / 2};

    assert_non_null(b.p);
    for (size_t i = 0; i < b.n; i++) {
        unsigned v;

        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        b.p[i] = (uint8_t)v;
    }
    return b;
}

/* Parses exactly n bytes from an exact-size heap copy, so ASan builds catch a read past them. */
static int parse_n(const uint8_t *p, size_t n, proxy_allow_t allow, proxy_header_t *h)
{
    uint8_t *copy = malloc(n ? n : 1);
    int rc;

    assert_non_null(copy);
    if (n)
        memcpy(copy, p, n); /* p may be NULL for the empty prefix */
    rc = proxy_parse(copy, n, allow, h);
    free(copy);
    return rc;
}

static int parse_hex(const char *h, proxy_allow_t allow, proxy_header_t *out)
{
    bytes_t b = unhex(h);
    int rc = parse_n(b.p, b.n, allow, out);

    free(b.p);
    return rc;
}

static int parse_text(const char *s, proxy_allow_t allow, proxy_header_t *out)
{
    return parse_n((const uint8_t *)s, strlen(s), allow, out);
}

static int rc_text(const char *s)
{
    proxy_header_t h;

    return parse_text(s, PROXY_ALLOW_ANY, &h);
}

static int rc_hex(const char *s)
{
    proxy_header_t h;

    return parse_hex(s, PROXY_ALLOW_ANY, &h);
}

/* Every prefix shorter than the header waits for more; the header alone and the header with the
 * client's data both parse to the same result. */
static void assert_prefixes_wait(const uint8_t *p, size_t n, size_t header)
{
    proxy_header_t a, b;

    for (size_t i = 0; i < header; i++)
        assert_int_equal(parse_n(p, i, PROXY_ALLOW_ANY, &a), -EAGAIN);
    assert_int_equal(parse_n(p, header, PROXY_ALLOW_ANY, &a), (int)header);
    assert_int_equal(parse_n(p, n, PROXY_ALLOW_ANY, &b), (int)header);
    assert_memory_equal(&a, &b, sizeof(a));
}

static void assert_ip(const ipaddr_t *ip, uint8_t family, const char *text)
{
    ipaddr_t want;

    assert_int_equal(ipaddr_parse(text, strlen(text), family, &want), 0);
    assert_int_equal(ip->family, family);
    assert_memory_equal(ip->bytes, want.bytes, sizeof(want.bytes));
}

static void assert_endpoints(const proxy_header_t *h, uint8_t family, const char *src, unsigned sport,
                             const char *dst, unsigned dport)
{
    assert_int_equal(h->command, PROXY_CMD_PROXY);
    assert_ip(&h->src.ip, family, src);
    assert_ip(&h->dst.ip, family, dst);
    assert_int_equal(h->src.port, sport);
    assert_int_equal(h->dst.port, dport);
}

/* The vector's header is followed by "hello" (5 bytes) unless it is a health check's. */
static proxy_header_t check_vector(const char *hex, size_t trailing)
{
    bytes_t b = unhex(hex);
    proxy_header_t h;

    assert_int_equal(parse_n(b.p, b.n, PROXY_ALLOW_ANY, &h), (int)(b.n - trailing));
    assert_int_equal(h.len, b.n - trailing);
    if (trailing)
        assert_memory_equal(b.p + h.len, "hello", trailing);
    assert_prefixes_wait(b.p, b.n, h.len);
    free(b.p);
    return h;
}

static void v1_spec_example_parses_and_leaves_the_request(void **state)
{
    const char *s = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
    proxy_header_t h;

    (void)state;
    assert_int_equal(parse_text(s, PROXY_ALLOW_V1, &h), 47);
    assert_int_equal(h.version, 1);
    assert_endpoints(&h, IPADDR_V4, "192.168.0.1", 56324, "192.168.0.11", 443);
    assert_prefixes_wait((const uint8_t *)s, strlen(s), 47);
}

static void v1_haproxy_send_proxy_tcp4_gives_the_client_address(void **state)
{
    proxy_header_t h;

    (void)state;
    h = check_vector(HAP_V1_TCP4, 5);
    assert_int_equal(h.version, 1);
    assert_endpoints(&h, IPADDR_V4, "127.0.0.7", 48861, "127.0.0.1", 17001);
}

static void v1_haproxy_send_proxy_tcp6_gives_the_client_address(void **state)
{
    proxy_header_t h;

    (void)state;
    h = check_vector(HAP_V1_TCP6, 5);
    assert_endpoints(&h, IPADDR_V6, "::1", 45704, "::1", 17004);
}

static void v1_haproxy_health_check_names_its_own_endpoints(void **state)
{
    proxy_header_t h;

    (void)state;
    h = check_vector(HAP_V1_CHECK, 0);
    assert_endpoints(&h, IPADDR_V4, "127.0.0.1", 37500, "127.0.0.1", 17100);
}

static void v1_longest_tcp6_line_of_104_bytes_parses(void **state)
{
    const char *s = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                    "65535 65535\r\n";
    proxy_header_t h;

    (void)state;
    assert_int_equal(strlen(s), 104);
    assert_int_equal(parse_text(s, PROXY_ALLOW_V1, &h), 104);
    assert_int_equal(h.src.port, 65535);
    assert_int_equal(h.src.ip.bytes[15], 0xff);
}

static void v1_unknown_short_form_keeps_the_real_addresses(void **state)
{
    proxy_header_t h;

    (void)state;
    assert_int_equal(parse_text("PROXY UNKNOWN\r\nx", PROXY_ALLOW_V1, &h), 15);
    assert_int_equal(h.command, PROXY_CMD_PROXY);
    assert_int_equal(h.src.ip.family, IPADDR_NONE);
    assert_int_equal(h.dst.ip.family, IPADDR_NONE);
}

/* The spec's worst case: 107 bytes, the rest of an UNKNOWN line ignored. */
static void v1_unknown_worst_case_of_107_bytes_parses_and_108_does_not(void **state)
{
    const char *s = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                    "65535 65535\r\n";
    const char *over = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                       "65535 65535 \r\n";
    proxy_header_t h;

    (void)state;
    assert_int_equal(strlen(s), PROXY_V1_MAX);
    assert_int_equal(parse_text(s, PROXY_ALLOW_V1, &h), PROXY_V1_MAX);
    assert_int_equal(h.src.ip.family, IPADDR_NONE);
    assert_int_equal(rc_text(over), -EPROTO);
}

static void v1_line_without_crlf_in_107_bytes_is_refused_unfinished(void **state)
{
    char s[PROXY_V1_MAX + 1];

    (void)state;
    memset(s, ' ', sizeof(s));
    memcpy(s, "PROXY UNKNOWN", 13);
    s[PROXY_V1_MAX] = '\0';
    assert_int_equal(rc_text(s), -EPROTO);
}

static void v1_malformed_lines_are_refused(void **state)
{
    static const char *const bad[] = {
        "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",         /* leading zero in a port */
        "PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n",         /* leading zero in an address part */
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",      /* port out of range */
        "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",        /* part out of range */
        "PROXY TCP4 ::1 ::1 1 2\r\n",                  /* family mismatch */
        "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",          /* family mismatch */
        "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",         /* two spaces */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",            /* a field short */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",        /* a field too many */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",         /* trailing space */
        "PROXY TCP4\r\n",                              /* no fields */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",            /* bare LF */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx",           /* bare CR */
        "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",          /* unknown protocol */
        "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",          /* protocol is upper case */
        "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",          /* so is the signature */
        "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",         /* two spaces after the signature */
        "PROXY UNKNOWNX\r\n",                          /* not the word UNKNOWN */
        "PROXY UNKNOWN \x01\r\n",                      /* control byte in the ignored rest */
        "PROXY TCP6 1::2::3 ::1 1 2\r\n",              /* two "::" */
        "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",         /* zone id */
        "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",         /* sign */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = rc_text(bad[i]);

        if (rc != -EPROTO)
            fail_msg("\"%s\" gave %d, not -EPROTO", bad[i], rc);
    }
}

/* A client that is not a proxy, or a header gone wrong, is refused before its line ends. */
static void v1_garbage_is_refused_without_waiting_for_crlf(void **state)
{
    (void)state;
    assert_int_equal(rc_text("G"), -EPROTO);
    assert_int_equal(rc_text("PROXX"), -EPROTO);
    assert_int_equal(rc_text("PROXY X"), -EPROTO);
    assert_int_equal(rc_text("PROXY TCP4 1.2.3.4x"), -EPROTO);
    assert_int_equal(rc_text("PROXY TCP4 1.2.3.4 5.6.7.8 01"), -EPROTO);
    assert_int_equal(rc_text("PROXY TCP4 1.2.3.4 5.6.7.8 123456"), -EPROTO);
    assert_int_equal(rc_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), -EPROTO);
    assert_int_equal(rc_text("PROXY TCP4 1.2.3.4.5.6.7.8.9"), -EPROTO); /* longer than any IPv4 */
    assert_int_equal(rc_text("PROXY TCP4 1.2.3.4 "), -EAGAIN);
    assert_int_equal(rc_text("PROXY TCP6 2001:db8"), -EAGAIN);
}

static void v2_haproxy_send_proxy_v2_tcp4_gives_the_client_address(void **state)
{
    proxy_header_t h;

    (void)state;
    h = check_vector(HAP_V2_TCP4, 5);
    assert_int_equal(h.version, 2);
    assert_int_equal(h.len, 28);
    assert_endpoints(&h, IPADDR_V4, "127.0.0.7", 50475, "127.0.0.1", 17002);
}

static void v2_haproxy_send_proxy_v2_tcp6_gives_the_client_address(void **state)
{
    proxy_header_t h;

    (void)state;
    h = check_vector(HAP_V2_TCP6, 5);
    assert_int_equal(h.len, 52);
    assert_endpoints(&h, IPADDR_V6, "::1", 48186, "::1", 17005);
}

static void v2_haproxy_behind_tls_with_ssl_tlv_parses(void **state)
{
    proxy_header_t h;

    (void)state;
    h = check_vector(HAP_V2_TLS, 5);
    assert_int_equal(h.len, 16 + 30);
    assert_endpoints(&h, IPADDR_V4, "127.0.0.9", 55713, "127.0.0.1", 17008);
}

static void v2_haproxy_with_every_tlv_it_sends_parses(void **state)
{
    proxy_header_t h;

    (void)state;
    h = check_vector(HAP_V2_TLVS, 5);
    assert_int_equal(h.len, 170);
    assert_endpoints(&h, IPADDR_V4, "127.0.0.9", 58381, "127.0.0.1", 17007);
}

static void v2_haproxy_health_check_is_local_without_addresses(void **state)
{
    proxy_header_t h;

    (void)state;
    h = check_vector(HAP_V2_LOCAL, 0);
    assert_int_equal(h.command, PROXY_CMD_LOCAL);
    assert_int_equal(h.src.ip.family, IPADDR_NONE);
}

/* LOCAL's block is discarded unread, whatever it holds (the spec: the family is ignored). */
static void v2_local_with_an_address_block_skips_it(void **state)
{
    proxy_header_t h;

    (void)state;
    assert_int_equal(parse_hex(V2_SIG "2011000c" "7f0000017f000001c52b426a", PROXY_ALLOW_V2, &h), 28);
    assert_int_equal(h.command, PROXY_CMD_LOCAL);
    assert_int_equal(h.src.ip.family, IPADDR_NONE);
}

static void v2_proxy_over_unspec_keeps_the_real_addresses(void **state)
{
    proxy_header_t h;

    (void)state;
    assert_int_equal(parse_hex(V2_SIG "21000000", PROXY_ALLOW_V2, &h), 16);
    assert_int_equal(h.command, PROXY_CMD_PROXY);
    assert_int_equal(h.src.ip.family, IPADDR_NONE);
    /* TLVs alone after an UNSPEC family: a NOOP TLV of one byte */
    assert_int_equal(parse_hex(V2_SIG "21000004" "04000100", PROXY_ALLOW_V2, &h), 20);
}

static void v2_malformed_headers_are_refused(void **state)
{
    static const char *const bad[] = {
        V2_SIG "1111000c7f0000077f000001c52b426a", /* version 1 in the binary form */
        V2_SIG "3111000c7f0000077f000001c52b426a", /* version 3 */
        V2_SIG "2211000c7f0000077f000001c52b426a", /* command 2 */
        V2_SIG "2112000c7f0000077f000001c52b426a", /* UDP */
        V2_SIG "213100d8",                         /* AF_UNIX */
        V2_SIG "2141000c7f0000077f000001c52b426a", /* family 4: unassigned */
        V2_SIG "2113000c7f0000077f000001c52b426a", /* transport 3: unassigned */
        V2_SIG "2110000c7f0000077f000001c52b426a", /* IPv4 with no transport */
        V2_SIG "2111000b7f0000077f000001c52b42",   /* IPv4 block longer than the length */
        V2_SIG "21210024",                         /* fine so far, then: */
        V2_SIG "2111000e7f0000077f000001c52b426a0400", /* 2 bytes after the block: no TLV fits */
        V2_SIG "211100107f0000077f000001c52b426a040005", /* a TLV running past the header */
        V2_SIG "2011ffff",                         /* LOCAL, but longer than the cap */
    };
    proxy_header_t h;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = rc_hex(bad[i]);

        if (i == 9) { /* the IPv6 header cut after its fixed part waits; with a short length it is refused */
            assert_int_equal(rc, -EAGAIN);
            assert_int_equal(parse_hex(V2_SIG "21210023", PROXY_ALLOW_V2, &h), -EPROTO);
            continue;
        }
        if (rc != -EPROTO)
            fail_msg("case %zu (%s) gave %d, not -EPROTO", i, bad[i], rc);
    }
}

/* The fixed 16 bytes tell a header too long for the cap; nothing after them is awaited. */
static void v2_length_over_the_cap_is_refused_from_the_fixed_part(void **state)
{
    char hex[64];

    (void)state;
    snprintf(hex, sizeof(hex), V2_SIG "2100%04x", PROXY_HEADER_MAX - PROXY_V2_FIXED + 1);
    assert_int_equal(rc_hex(hex), -EPROTO);
    snprintf(hex, sizeof(hex), V2_SIG "2100%04x", PROXY_HEADER_MAX - PROXY_V2_FIXED);
    assert_int_equal(rc_hex(hex), -EAGAIN);
}

static void v2_header_of_exactly_the_cap_parses(void **state)
{
    size_t tlv = PROXY_HEADER_MAX - PROXY_V2_FIXED - 3; /* one NOOP TLV fills the rest */
    uint8_t buf[PROXY_HEADER_MAX];
    proxy_header_t h;

    (void)state;
    memset(buf, 0xaa, sizeof(buf));
    memcpy(buf, PROXY_SIG_V2, PROXY_SIG_V2_LEN);
    buf[12] = 0x21;
    buf[13] = 0x00;
    buf[14] = (uint8_t)((PROXY_HEADER_MAX - PROXY_V2_FIXED) >> 8);
    buf[15] = (uint8_t)(PROXY_HEADER_MAX - PROXY_V2_FIXED);
    buf[16] = 0x04;
    buf[17] = (uint8_t)(tlv >> 8);
    buf[18] = (uint8_t)tlv;
    assert_int_equal(parse_n(buf, sizeof(buf), PROXY_ALLOW_V2, &h), PROXY_HEADER_MAX);
    assert_prefixes_wait(buf, sizeof(buf), PROXY_HEADER_MAX);
}

static void v2_garbage_is_refused_at_the_first_wrong_byte(void **state)
{
    (void)state;
    assert_int_equal(rc_hex("0d0a0d0a01"), -EPROTO); /* the NUL of the signature */
    assert_int_equal(rc_hex(V2_SIG "11"), -EPROTO);
    assert_int_equal(rc_hex(V2_SIG "2131"), -EPROTO);
    assert_int_equal(rc_hex(V2_SIG "21"), -EAGAIN);
}

static void only_the_allowed_version_is_taken(void **state)
{
    proxy_header_t h;

    (void)state;
    assert_int_equal(parse_hex(HAP_V1_TCP4, PROXY_ALLOW_V2, &h), -EPROTO);
    assert_int_equal(parse_hex(HAP_V2_TCP4, PROXY_ALLOW_V1, &h), -EPROTO);
    assert_int_equal(parse_hex(HAP_V1_TCP4, PROXY_ALLOW_V1, &h), 44);
    assert_int_equal(parse_hex(HAP_V2_TCP4, PROXY_ALLOW_V2, &h), 28);
    assert_int_equal(parse_text("P", PROXY_ALLOW_V2, &h), -EPROTO);
    assert_int_equal(parse_n(NULL, 0, PROXY_ALLOW_ANY, &h), -EAGAIN);
}

static void failed_parse_leaves_the_output_untouched(void **state)
{
    proxy_header_t h, before;

    (void)state;
    memset(&h, 0x5a, sizeof(h));
    before = h;
    assert_int_equal(rc_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2"), -EAGAIN);
    assert_int_equal(parse_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2", PROXY_ALLOW_ANY, &h), -EAGAIN);
    assert_int_equal(parse_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 x\r\n", PROXY_ALLOW_ANY, &h), -EPROTO);
    assert_memory_equal(&h, &before, sizeof(h));
}

static void sniff_tells_a_header_from_game_frames(void **state)
{
    static const uint8_t login[] = {0x0b, 0x00, 0x10, 0x00, 0x06, 'p', 'l', 'a', 'y', 'e', 'r'};
    bytes_t v2 = unhex(HAP_V2_TCP4);

    (void)state;
    assert_int_equal(proxy_sniff((const uint8_t *)"PROXY TCP4 ", 11), 1);
    assert_int_equal(proxy_sniff((const uint8_t *)"PROXY ", 6), 1);
    assert_int_equal(proxy_sniff((const uint8_t *)"PROX", 4), -EAGAIN);
    assert_int_equal(proxy_sniff((const uint8_t *)"PROXYZ", 6), 0);
    assert_int_equal(proxy_sniff(v2.p, v2.n), 1);
    assert_int_equal(proxy_sniff(v2.p, PROXY_SIG_V2_LEN), 1);
    assert_int_equal(proxy_sniff(v2.p, PROXY_SIG_V2_LEN - 1), -EAGAIN);
    assert_int_equal(proxy_sniff(login, sizeof(login)), 0);
    assert_int_equal(proxy_sniff(login, 1), 0);
    assert_int_equal(proxy_sniff(NULL, 0), -EAGAIN);
    free(v2.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(v1_spec_example_parses_and_leaves_the_request),
        cmocka_unit_test(v1_haproxy_send_proxy_tcp4_gives_the_client_address),
        cmocka_unit_test(v1_haproxy_send_proxy_tcp6_gives_the_client_address),
        cmocka_unit_test(v1_haproxy_health_check_names_its_own_endpoints),
        cmocka_unit_test(v1_longest_tcp6_line_of_104_bytes_parses),
        cmocka_unit_test(v1_unknown_short_form_keeps_the_real_addresses),
        cmocka_unit_test(v1_unknown_worst_case_of_107_bytes_parses_and_108_does_not),
        cmocka_unit_test(v1_line_without_crlf_in_107_bytes_is_refused_unfinished),
        cmocka_unit_test(v1_malformed_lines_are_refused),
        cmocka_unit_test(v1_garbage_is_refused_without_waiting_for_crlf),
        cmocka_unit_test(v2_haproxy_send_proxy_v2_tcp4_gives_the_client_address),
        cmocka_unit_test(v2_haproxy_send_proxy_v2_tcp6_gives_the_client_address),
        cmocka_unit_test(v2_haproxy_behind_tls_with_ssl_tlv_parses),
        cmocka_unit_test(v2_haproxy_with_every_tlv_it_sends_parses),
        cmocka_unit_test(v2_haproxy_health_check_is_local_without_addresses),
        cmocka_unit_test(v2_local_with_an_address_block_skips_it),
        cmocka_unit_test(v2_proxy_over_unspec_keeps_the_real_addresses),
        cmocka_unit_test(v2_malformed_headers_are_refused),
        cmocka_unit_test(v2_length_over_the_cap_is_refused_from_the_fixed_part),
        cmocka_unit_test(v2_header_of_exactly_the_cap_parses),
        cmocka_unit_test(v2_garbage_is_refused_at_the_first_wrong_byte),
        cmocka_unit_test(only_the_allowed_version_is_taken),
        cmocka_unit_test(failed_parse_leaves_the_output_untouched),
        cmocka_unit_test(sniff_tells_a_header_from_game_frames),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

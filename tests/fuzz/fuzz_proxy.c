/* libFuzzer target for proxy_proto: the input is the first bytes a connection delivers. Checks:
 *  - the return code is a header length (<= the input, <= PROXY_HEADER_MAX, v1 <= PROXY_V1_MAX and
 *    ending in CRLF), -EAGAIN or -EPROTO, and the header read agrees with its version;
 *  - streaming: over the prefixes, the answer is -EAGAIN until it turns into -EPROTO or a length,
 *    and then never changes (a valid header is never refused early, garbage never accepted late);
 *  - the allowed versions: ANY answers as the one version the first byte names, the other refuses;
 *  - proxy_sniff is 1 on every parsed header and 0 only where ANY refuses.
 * Prefixes are parsed from exact-size heap copies so ASan sees a read past len. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int parse_copy(const uint8_t *data, size_t n, proxy_allow_t allow, proxy_header_t *h)
{
    uint8_t *copy = malloc(n ? n : 1);
    int rc;

    CHECK(copy);
    memcpy(copy, data, n);
    rc = proxy_parse(copy, n, allow, h);
    free(copy);
    return rc;
}

static void check_header(const uint8_t *data, size_t size, int rc, const proxy_header_t *h)
{
    CHECK((size_t)rc <= size && rc <= PROXY_HEADER_MAX && h->len == (size_t)rc);
    CHECK(h->command == PROXY_CMD_PROXY || h->command == PROXY_CMD_LOCAL);
    CHECK(h->src.ip.family == h->dst.ip.family);
    CHECK(h->src.ip.family == IPADDR_NONE || h->src.ip.family == IPADDR_V4 || h->src.ip.family == IPADDR_V6);
    if (h->command == PROXY_CMD_LOCAL)
        CHECK(h->version == 2 && h->src.ip.family == IPADDR_NONE);
    if (h->src.ip.family == IPADDR_NONE)
        CHECK(h->src.port == 0 && h->dst.port == 0);
    if (h->version == 1) {
        CHECK(rc <= PROXY_V1_MAX && memcmp(data, PROXY_SIG_V1, PROXY_SIG_V1_LEN) == 0);
        CHECK(data[rc - 2] == '\r' && data[rc - 1] == '\n');
        CHECK(memchr(data, '\n', (size_t)rc - 1) == NULL);
    } else {
        CHECK(h->version == 2 && rc >= PROXY_V2_FIXED && memcmp(data, PROXY_SIG_V2, PROXY_SIG_V2_LEN) == 0);
        CHECK((size_t)rc == PROXY_V2_FIXED + ((size_t)data[14] << 8 | data[15]));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proxy_header_t full, h;
    int rc = parse_copy(data, size, PROXY_ALLOW_ANY, &full);
    int settled = -EAGAIN;
    size_t walk = size < PROXY_HEADER_MAX + 1 ? size : PROXY_HEADER_MAX + 1;

    CHECK(rc > 0 || rc == -EAGAIN || rc == -EPROTO);
    if (rc == -EAGAIN)
        CHECK(size < PROXY_HEADER_MAX);
    if (rc > 0)
        check_header(data, size, rc, &full);

    for (size_t i = 0; i <= walk; i++) {
        int r = parse_copy(data, i, PROXY_ALLOW_ANY, &h);

        if (settled == -EAGAIN)
            settled = r;
        else
            CHECK(r == settled);
        if (r > 0)
            CHECK(memcmp(&h, &full, sizeof(h)) == 0);
    }
    CHECK(settled == rc);

    if (size > 0) {
        bool v2 = data[0] == (uint8_t)PROXY_SIG_V2[0];
        int mine = parse_copy(data, size, v2 ? PROXY_ALLOW_V2 : PROXY_ALLOW_V1, &h);
        int other = parse_copy(data, size, v2 ? PROXY_ALLOW_V1 : PROXY_ALLOW_V2, &h);

        CHECK(mine == rc && other == -EPROTO);
    }

    int sniff = proxy_sniff(data, size);
    CHECK(sniff == 1 || sniff == 0 || sniff == -EAGAIN);
    if (rc > 0)
        CHECK(sniff == 1);
    if (sniff == 0)
        CHECK(rc == -EPROTO);
    return 0;
}

/* ipaddr: the strict IPv4 / IPv6 grammar (what it takes and what it refuses), family selection,
 * canonical printing (RFC 5952) and reading it back, and IPv4-mapped addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "ipaddr.h"

static int parse(const char *s, uint8_t family, ipaddr_t *a)
{
    return ipaddr_parse(s, strlen(s), family, a);
}

/* Parses s and prints it back: the canonical text must be `want`, and read back to the same. */
static void assert_canonical(const char *s, const char *want)
{
    ipaddr_t a, b;
    char buf[IPADDR_TEXT_MAX];

    if (parse(s, IPADDR_NONE, &a) != 0)
        fail_msg("\"%s\" did not parse", s);
    assert_int_equal(ipaddr_format(&a, buf, sizeof(buf)), (int)strlen(want));
    assert_string_equal(buf, want);
    assert_int_equal(parse(buf, IPADDR_NONE, &b), 0);
    assert_true(ipaddr_equal(&a, &b));
}

static void ipv4_parses_into_the_first_four_bytes(void **state)
{
    ipaddr_t a;
    static const uint8_t want[16] = {10, 0, 255, 1};

    (void)state;
    assert_int_equal(parse("10.0.255.1", IPADDR_NONE, &a), 0);
    assert_int_equal(a.family, IPADDR_V4);
    assert_memory_equal(a.bytes, want, 16);
}

static void ipv6_forms_parse_to_the_same_bytes(void **state)
{
    ipaddr_t a, b;

    (void)state;
    assert_int_equal(parse("2001:db8::1", IPADDR_NONE, &a), 0);
    assert_int_equal(a.family, IPADDR_V6);
    assert_int_equal(parse("2001:0DB8:0000:0000:0000:0000:0000:0001", IPADDR_V6, &b), 0);
    assert_true(ipaddr_equal(&a, &b));
    assert_int_equal(a.bytes[0], 0x20);
    assert_int_equal(a.bytes[3], 0xb8);
    assert_int_equal(a.bytes[15], 1);
    assert_int_equal(parse("::ffff:1.2.3.4", IPADDR_V6, &a), 0);
    assert_int_equal(a.bytes[10], 0xff);
    assert_int_equal(a.bytes[15], 4);
}

static void malformed_addresses_are_refused(void **state)
{
    static const char *const bad[] = {
        "", "1.2.3", "1.2.3.4.5", "1.2.3.256", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1..2.3", "1.2.3.",
        "1.2.3.0x1", "1234.1.1.1", ":", ":::", "1:2", "1:::2", "1::2::3", ":1::2", "1::2:", "12345::1",
        "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "g::1", "fe80::1%eth0",
        "::1.2.3", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", "[::1]",
    };
    ipaddr_t a;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], IPADDR_NONE, &a) != -EINVAL)
            fail_msg("\"%s\" was taken", bad[i]);
        assert_int_equal(a.family, IPADDR_NONE);
    }
}

static void family_argument_restricts_what_is_taken(void **state)
{
    ipaddr_t a;

    (void)state;
    assert_int_equal(parse("1.2.3.4", IPADDR_V6, &a), -EINVAL);
    assert_int_equal(parse("::1", IPADDR_V4, &a), -EINVAL);
    assert_int_equal(parse("::1", IPADDR_V6, &a), 0);
}

/* The length bounds the parse: the bytes after it are not looked at. */
static void length_bounds_the_text(void **state)
{
    ipaddr_t a;

    (void)state;
    assert_int_equal(ipaddr_parse("1.2.3.45", 7, IPADDR_NONE, &a), 0);
    assert_int_equal(a.bytes[3], 4);
    assert_int_equal(ipaddr_parse("::1 junk", 3, IPADDR_NONE, &a), 0);
}

static void canonical_text_follows_rfc_5952(void **state)
{
    (void)state;
    assert_canonical("0.0.0.0", "0.0.0.0");
    assert_canonical("255.255.255.255", "255.255.255.255");
    assert_canonical("::", "::");
    assert_canonical("::1", "::1");
    assert_canonical("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
    assert_canonical("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1");  /* the longer run */
    assert_canonical("2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1");     /* the first on a tie */
    assert_canonical("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"); /* one zero group stays */
    assert_canonical("1:0:0:0:0:0:0:0", "1::");
    assert_canonical("::ffff:10.0.0.1", "::ffff:10.0.0.1");
    assert_canonical("::ffff:a00:1", "::ffff:10.0.0.1");
    assert_canonical("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void format_refuses_a_small_buffer(void **state)
{
    ipaddr_t a;
    char buf[8];

    (void)state;
    assert_int_equal(parse("2001:db8::1", IPADDR_NONE, &a), 0);
    assert_int_equal(ipaddr_format(&a, buf, sizeof(buf)), -ENOSPC);
    assert_string_equal(buf, "");
    assert_int_equal(ipaddr_format(&a, buf, 0), -ENOSPC);
}

static void mapped_address_unmaps_to_ipv4(void **state)
{
    ipaddr_t m, v4, u;

    (void)state;
    assert_int_equal(parse("::ffff:127.0.0.7", IPADDR_NONE, &m), 0);
    assert_int_equal(parse("127.0.0.7", IPADDR_NONE, &v4), 0);
    u = ipaddr_unmap(&m);
    assert_true(ipaddr_equal(&u, &v4));
    assert_int_equal(parse("::127.0.0.7", IPADDR_NONE, &m), 0); /* compatible, not mapped */
    u = ipaddr_unmap(&m);
    assert_true(ipaddr_equal(&u, &m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_parses_into_the_first_four_bytes),
        cmocka_unit_test(ipv6_forms_parse_to_the_same_bytes),
        cmocka_unit_test(malformed_addresses_are_refused),
        cmocka_unit_test(family_argument_restricts_what_is_taken),
        cmocka_unit_test(length_bounds_the_text),
        cmocka_unit_test(canonical_text_follows_rfc_5952),
        cmocka_unit_test(format_refuses_a_small_buffer),
        cmocka_unit_test(mapped_address_unmaps_to_ipv4),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

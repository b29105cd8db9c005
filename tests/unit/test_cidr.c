/* cidr: ranges with and without a prefix, both families, host bits set refused (with the range
 * meant), printing back, matching (IPv4-mapped peers too) and lists (full, duplicates). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"

static int parse(const char *s, cidr_t *c)
{
    return cidr_parse(s, strlen(s), c, NULL);
}

static ipaddr_t ip(const char *s)
{
    ipaddr_t a;

    assert_int_equal(ipaddr_parse(s, strlen(s), IPADDR_NONE, &a), 0);
    return a;
}

static bool in(const char *range, const char *addr)
{
    cidr_t c;
    ipaddr_t a = ip(addr);

    assert_int_equal(parse(range, &c), 0);
    return cidr_match(&c, &a);
}

static void assert_prints(const char *s, const char *want)
{
    cidr_t c, back;
    char buf[CIDR_TEXT_MAX];

    assert_int_equal(parse(s, &c), 0);
    assert_int_equal(cidr_format(&c, buf, sizeof(buf)), (int)strlen(want));
    assert_string_equal(buf, want);
    assert_int_equal(parse(buf, &back), 0);
    assert_memory_equal(&c, &back, sizeof(c));
}

static void ranges_of_both_families_parse_and_print_back(void **state)
{
    (void)state;
    assert_prints("10.0.0.0/8", "10.0.0.0/8");
    assert_prints("127.0.0.1", "127.0.0.1/32");
    assert_prints("0.0.0.0/0", "0.0.0.0/0");
    assert_prints("::1/128", "::1/128");
    assert_prints("::1", "::1/128");
    assert_prints("2001:DB8::/32", "2001:db8::/32");
    assert_prints("::/0", "::/0");
    assert_prints("192.168.1.128/25", "192.168.1.128/25");
}

/* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d: such ranges are stored as IPv4. */
static void mapped_range_is_stored_as_ipv4(void **state)
{
    (void)state;
    assert_prints("::ffff:10.0.0.0/104", "10.0.0.0/8");
    assert_prints("::ffff:127.0.0.1", "127.0.0.1/32");
    assert_prints("::fffe:0:0/95", "::fffe:0:0/95"); /* under 96 bits it is an IPv6 range */
}

static void host_bits_beyond_the_prefix_are_refused_with_the_range_meant(void **state)
{
    cidr_t c, hint;
    char buf[CIDR_TEXT_MAX];

    (void)state;
    assert_int_equal(cidr_parse("10.0.0.1/8", 10, &c, &hint), -EDOM);
    assert_int_equal(c.net.family, IPADDR_NONE);
    assert_int_equal(cidr_format(&hint, buf, sizeof(buf)), 10);
    assert_string_equal(buf, "10.0.0.0/8");
    assert_int_equal(cidr_parse("2001:db8::1/32", 14, &c, NULL), -EDOM);
    assert_int_equal(cidr_parse("192.168.1.129/25", 16, &c, NULL), -EDOM);
}

static void malformed_ranges_are_refused(void **state)
{
    static const char *const bad[] = {
        "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0.0/8/8", "::/129",
        "10.0.0.0 /8", "10.0.0.0/ 8", "10.0.0/8", "localhost", "10.0.0.0/1000", "::1/0128",
    };
    cidr_t c;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(bad[i], &c) != -EINVAL)
            fail_msg("\"%s\" was taken", bad[i]);
}

static void match_follows_the_prefix(void **state)
{
    (void)state;
    assert_true(in("10.0.0.0/8", "10.255.0.1"));
    assert_false(in("10.0.0.0/8", "11.0.0.0"));
    assert_true(in("192.168.1.128/25", "192.168.1.200"));
    assert_false(in("192.168.1.128/25", "192.168.1.127"));
    assert_true(in("127.0.0.1", "127.0.0.1"));
    assert_false(in("127.0.0.1", "127.0.0.2"));
    assert_true(in("0.0.0.0/0", "203.0.113.9"));
    assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
    assert_false(in("2001:db8::/32", "2001:db9::1"));
    assert_true(in("::1/128", "::1"));
    assert_false(in("::/0", "1.2.3.4"));   /* families never cross */
    assert_false(in("0.0.0.0/0", "::1"));
}

static void mapped_peer_matches_its_ipv4_range(void **state)
{
    (void)state;
    assert_true(in("127.0.0.0/8", "::ffff:127.0.0.1"));
    assert_false(in("10.0.0.0/8", "::ffff:127.0.0.1"));
}

static void list_matches_any_entry_refuses_duplicates_and_overflow(void **state)
{
    cidr_list_t l;
    cidr_t c;
    ipaddr_t a;
    char s[32];

    (void)state;
    memset(&l, 0, sizeof(l));
    a = ip("10.1.2.3");
    assert_false(cidr_list_match(&l, &a));
    assert_int_equal(parse("192.168.0.0/16", &c), 0);
    assert_int_equal(cidr_list_add(&l, &c), 0);
    assert_false(cidr_list_match(&l, &a));
    assert_int_equal(parse("10.0.0.0/8", &c), 0);
    assert_int_equal(cidr_list_add(&l, &c), 0);
    assert_true(cidr_list_match(&l, &a));
    assert_int_equal(cidr_list_add(&l, &c), -EEXIST);
    for (uint32_t i = l.n; i < CIDR_LIST_MAX; i++) {
        snprintf(s, sizeof(s), "172.16.%u.0/24", (unsigned)i);
        assert_int_equal(parse(s, &c), 0);
        assert_int_equal(cidr_list_add(&l, &c), 0);
    }
    assert_int_equal(parse("172.31.0.0/16", &c), 0);
    assert_int_equal(cidr_list_add(&l, &c), -ENOSPC);
    assert_int_equal(l.n, CIDR_LIST_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ranges_of_both_families_parse_and_print_back),
        cmocka_unit_test(mapped_range_is_stored_as_ipv4),
        cmocka_unit_test(host_bits_beyond_the_prefix_are_refused_with_the_range_meant),
        cmocka_unit_test(malformed_ranges_are_refused),
        cmocka_unit_test(match_follows_the_prefix),
        cmocka_unit_test(mapped_peer_matches_its_ipv4_range),
        cmocka_unit_test(list_matches_any_entry_refuses_duplicates_and_overflow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

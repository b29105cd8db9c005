/* ticket: a signed ticket round-trips; every verdict (a flipped bit anywhere in the signed part
 * or the signature, an unknown key, expiry at exactly now, every truncation, bad version, name
 * length 0 or 33, account 0); trailing bytes are the caller's; key files: errors name the line,
 * duplicate ids refused, rotation (either key verifies), the newest secret is the last line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ticket.h"
#include "ticket_keys.h"

#define NOW 1800000000ull

static const uint8_t SEED1[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
static const uint8_t SEED2[32] = { 99 };

static ticket_keyring_t ring_of(const uint8_t *seed_a, uint32_t id_a, const uint8_t *seed_b, uint32_t id_b) {
    ticket_keyring_t r = { 0 };
    r.keys[r.count].id = id_a;
    ticket_public_of(seed_a, r.keys[r.count++].pk);
    if (seed_b) {
        r.keys[r.count].id = id_b;
        ticket_public_of(seed_b, r.keys[r.count++].pk);
    }
    return r;
}

static int make(uint8_t *t, uint32_t key_id, const uint8_t *seed, uint64_t account, const char *name, uint64_t exp) {
    static const uint8_t nonce[16] = { 0xAA };
    return ticket_sign(t, TICKET_MAX_BYTES, key_id, seed, account, name, strlen(name), exp, nonce);
}

static void round_trip_and_trailing_bytes(void **state) {
    (void)state;
    assert_int_equal(ticket_crypto_init(), 0);
    ticket_keyring_t ring = ring_of(SEED1, 1, NULL, 0);
    uint8_t t[TICKET_MAX_BYTES + 1];
    int n = make(t, 1, SEED1, 424242, "alice", NOW + 60);
    assert_int_equal(n, TICKET_MIN_BYTES - 1 + 5);
    t[n] = 0x01; /* a flags byte after it: the caller's */
    ticket_t out;
    size_t used = 0;
    assert_int_equal(ticket_check(&ring, t, (size_t)n + 1, NOW, &out, &used), TICKET_OK);
    assert_int_equal(used, (size_t)n);
    assert_int_equal(out.account, 424242);
    assert_string_equal(out.name, "alice");
    assert_int_equal(out.expires_s, NOW + 60);
    assert_int_equal(out.nonce[0], 0xAA);
}

static void every_bit_is_signed(void **state) {
    (void)state;
    ticket_keyring_t ring = ring_of(SEED1, 1, NULL, 0);
    uint8_t t[TICKET_MAX_BYTES];
    int n = make(t, 1, SEED1, 7, "bob", NOW + 60);
    ticket_t out;
    size_t used;
    for (int i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            t[i] ^= (uint8_t)(1 << bit);
            ticket_verdict_t v = ticket_check(&ring, t, (size_t)n, NOW, &out, &used);
            /* Changing the version, key id, name length or account to 0 may make it unreadable or
             * another key's; anything else is a forgery. Never OK. */
            assert_int_not_equal(v, TICKET_OK);
            if (i >= 5 && i < 13 && out.account) assert_int_equal(v, TICKET_BAD_SIGNATURE);
            if (i >= 13 && i < 37) assert_int_equal(v, TICKET_BAD_SIGNATURE);
            if (i >= n - TICKET_SIG_BYTES) assert_int_equal(v, TICKET_BAD_SIGNATURE);
            t[i] ^= (uint8_t)(1 << bit);
        }
    }
    assert_int_equal(ticket_check(&ring, t, (size_t)n, NOW, &out, &used), TICKET_OK);
}

static void verdicts(void **state) {
    (void)state;
    ticket_keyring_t ring = ring_of(SEED1, 1, NULL, 0);
    uint8_t t[TICKET_MAX_BYTES];
    ticket_t out;
    size_t used;
    int n = make(t, 1, SEED1, 7, "carol", NOW);
    assert_int_equal(ticket_check(&ring, t, (size_t)n, NOW, &out, &used), TICKET_EXPIRED); /* at now: gone */
    assert_int_equal(ticket_check(&ring, t, (size_t)n, NOW - 1, &out, &used), TICKET_OK);
    n = make(t, 2, SEED2, 7, "carol", NOW + 9);
    assert_int_equal(ticket_check(&ring, t, (size_t)n, NOW, &out, &used), TICKET_UNKNOWN_KEY);
    /* Forged with another key under key 1's id: a forgery, even when also expired. */
    n = make(t, 1, SEED2, 7, "carol", NOW - 9);
    assert_int_equal(ticket_check(&ring, t, (size_t)n, NOW, &out, &used), TICKET_BAD_SIGNATURE);
    n = make(t, 1, SEED1, 7, "carol", NOW + 9);
    for (int cut = 0; cut < n; cut++) assert_int_equal(ticket_check(&ring, t, (size_t)cut, NOW, &out, &used), TICKET_MALFORMED);
    t[0] = 2;
    assert_int_equal(ticket_parse(t, (size_t)n, &out), -EINVAL);
    assert_int_equal(make(t, 1, SEED1, 0, "carol", NOW + 9), -EINVAL);
    assert_int_equal(make(t, 1, SEED1, 7, "", NOW + 9), -EINVAL);
    assert_int_equal(make(t, 1, SEED1, 7, "0123456789abcdef0123456789abcdefX", NOW + 9), -EINVAL);
    /* A hand-made name length of 33 and of 0, and an account of 0, do not parse. */
    n = make(t, 1, SEED1, 7, "dave", NOW + 9);
    t[37] = 33;
    assert_int_equal(ticket_parse(t, (size_t)n, &out), -EINVAL);
    t[37] = 0;
    assert_int_equal(ticket_parse(t, (size_t)n, &out), -EINVAL);
    n = make(t, 1, SEED1, 7, "dave", NOW + 9);
    t[38] = 0xC0; /* an overlong form in the name */
    assert_int_equal(ticket_parse(t, (size_t)n, &out), -EINVAL);
    n = make(t, 1, SEED1, 7, "dave", NOW + 9);
    memset(t + 5, 0, 8);
    assert_int_equal(ticket_parse(t, (size_t)n, &out), -EINVAL);
}

static void rotation_either_key_verifies(void **state) {
    (void)state;
    ticket_keyring_t ring = ring_of(SEED1, 1, SEED2, 2);
    uint8_t t[TICKET_MAX_BYTES];
    ticket_t out;
    size_t used;
    int n = make(t, 1, SEED1, 7, "erin", NOW + 9);
    assert_int_equal(ticket_check(&ring, t, (size_t)n, NOW, &out, &used), TICKET_OK);
    n = make(t, 2, SEED2, 7, "erin", NOW + 9);
    assert_int_equal(ticket_check(&ring, t, (size_t)n, NOW, &out, &used), TICKET_OK);
}

static void key_files(void **state) {
    (void)state;
    ticket_keyring_t ring;
    char err[256];
    const char good[] = "# keys\n\n1 0101010101010101010101010101010101010101010101010101010101010101\n"
                        "  7\tabababababababababababababababababababababababababababababababab  \r\n";
    assert_int_equal(ticket_keys_parse_public("k.pub", good, strlen(good), &ring, err, sizeof err), 0);
    assert_int_equal(ring.count, 2);
    assert_int_equal(ring.keys[1].id, 7);
    assert_int_equal(ring.keys[1].pk[0], 0xab);
    struct { const char *text, *want; } bad[] = {
        { "1 0101\n", "k.pub:1: the key must be 64 hex digits" },
        { "\n\nx 0101010101010101010101010101010101010101010101010101010101010101\n", "k.pub:3: expected" },
        { "1 0101010101010101010101010101010101010101010101010101010101010101 extra\n", "k.pub:1: unexpected text" },
        { "1 0101010101010101010101010101010101010101010101010101010101010101\n"
          "1 0202020202020202020202020202020202020202020202020202020202020202\n", "k.pub:2: duplicate key id" },
        { "4294967296 0101010101010101010101010101010101010101010101010101010101010101\n", "k.pub:1: key id" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ticket_keys_parse_public("k.pub", bad[i].text, strlen(bad[i].text), &ring, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, bad[i].want));
    }
    ticket_secret_t s;
    assert_int_equal(ticket_keys_parse_secret("s.key", good, strlen(good), &s, err, sizeof err), 0);
    assert_int_equal(s.id, 7); /* the last line signs */
    assert_int_equal(ticket_keys_parse_secret("s.key", "# none\n", 7, &s, err, sizeof err), -ENOENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_and_trailing_bytes), cmocka_unit_test(every_bit_is_signed),
        cmocka_unit_test(verdicts), cmocka_unit_test(rotation_either_key_verifies), cmocka_unit_test(key_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

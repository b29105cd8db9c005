/* libFuzzer target for tickets and key files: the input is a LOGIN payload, and also the text of a
 * public key file. Checks:
 *  - ticket_check never reads past len (exact-size heap copy for ASan) and its verdict agrees with
 *    ticket_parse: MALFORMED exactly when parse refuses, and then nothing is consumed;
 *  - a parsed ticket's length is within TICKET_MIN_BYTES..TICKET_MAX_BYTES and the input's;
 *  - OK only for a ticket the fuzzer cannot forge: the input must be one signed here (the seed
 *    is fixed, so the corpus holds real tickets and mutations of them are checked for a verdict
 *    other than OK unless the bytes are unchanged);
 *  - key text: a keyring of at most TICKET_KEYS_MAX keys, or -EINVAL with an error naming a line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ticket.h"
#include "ticket_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define NOW 1800000000ull

static const uint8_t SEED[TICKET_SEED_BYTES] = { 7 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ticket_keyring_t ring;
    if (!ring.count) {
        CHECK(ticket_crypto_init() == 0);
        ring.count = 1;
        ring.keys[0].id = 1;
        ticket_public_of(SEED, ring.keys[0].pk);
    }
    uint8_t *copy = malloc(size ? size : 1);
    CHECK(copy);
    memcpy(copy, data, size);
    ticket_t t, p;
    size_t used = 0;
    ticket_verdict_t v = ticket_check(&ring, copy, size, NOW, &t, &used);
    int n = ticket_parse(copy, size, &p);
    CHECK((v == TICKET_MALFORMED) == (n < 0));
    if (n >= 0) {
        CHECK((size_t)n == used && n >= TICKET_MIN_BYTES && n <= TICKET_MAX_BYTES && (size_t)n <= size);
        CHECK(p.account == t.account && p.name_len == t.name_len && p.name_len >= 1 && p.name_len <= TICKET_NAME_MAX);
        if (v == TICKET_OK) {
            /* Only a genuine ticket verifies: signing its fields again gives the same bytes. */
            uint8_t again[TICKET_MAX_BYTES];
            int m = ticket_sign(again, sizeof again, t.key_id, SEED, t.account, t.name, t.name_len, t.expires_s, t.nonce);
            CHECK(m == n && memcmp(again, copy, (size_t)n) == 0);
        }
    }
    char err[256];
    ticket_keyring_t parsed;
    int rc = ticket_keys_parse_public("fuzz.pub", (const char *)copy, size, &parsed, err, sizeof err);
    CHECK(rc == 0 || rc == -EINVAL);
    CHECK(rc != 0 || parsed.count <= TICKET_KEYS_MAX);
    CHECK(rc == 0 || strncmp(err, "fuzz.pub:", 9) == 0);
    free(copy);
    return 0;
}

/* ticket: the signed login ticket a studio's login backend gives a player, and its check.
 * Owns the wire form (docs/security.md), Ed25519 signing and verification (libsodium) and the
 * verdicts. No I/O: the key text is parsed by ticket_keys.h from what the caller read. */
#ifndef GSKEL_TICKET_H
#define GSKEL_TICKET_H

#include <stddef.h>
#include <stdint.h>

#define TICKET_VERSION 1
#define TICKET_NONCE_BYTES 16
#define TICKET_NAME_MAX 32
#define TICKET_SIG_BYTES 64
#define TICKET_PUBLIC_KEY_BYTES 32
#define TICKET_SEED_BYTES 32
#define TICKET_MIN_BYTES 103
#define TICKET_MAX_BYTES 134
#define TICKET_KEYS_MAX 16
/* What the signature covers first: a ticket cannot be passed off as anything else signed. */
#define TICKET_DOMAIN "gskel-ticket-v1"

typedef struct ticket {
    uint32_t key_id;
    uint64_t account;
    uint64_t expires_s;
    uint8_t nonce[TICKET_NONCE_BYTES];
    uint8_t name_len;
    char name[TICKET_NAME_MAX + 1]; /* NUL-terminated copy */
} ticket_t;

typedef enum { TICKET_OK, TICKET_MALFORMED, TICKET_BAD_SIGNATURE, TICKET_UNKNOWN_KEY, TICKET_EXPIRED } ticket_verdict_t;

typedef struct ticket_key {
    uint32_t id;
    uint8_t pk[TICKET_PUBLIC_KEY_BYTES];
} ticket_key_t;
typedef struct ticket_keyring {
    uint32_t count;
    ticket_key_t keys[TICKET_KEYS_MAX];
} ticket_keyring_t;

/* sodium_init, once; 0 or -1. Safe to call from any thread, any number of times. */
int ticket_crypto_init(void);
/* Parses the wire form at p (bytes after the ticket are the caller's). Returns the ticket's
 * length, or -EINVAL if malformed (version, length, name_len 0 or over 32, name not UTF-8,
 * account 0). */
int ticket_parse(const uint8_t *p, size_t len, ticket_t *out);
/* Parse, then the key (TICKET_UNKNOWN_KEY), then the signature (TICKET_BAD_SIGNATURE), then the
 * expiry (expires_s <= now_s: TICKET_EXPIRED): a forged ticket is BAD_SIGNATURE even if expired.
 * *consumed is the ticket's length once it parsed. */
ticket_verdict_t ticket_check(const ticket_keyring_t *keys, const uint8_t *p, size_t len, uint64_t now_s, ticket_t *out,
                              size_t *consumed);
/* A signed ticket into out (cap >= TICKET_MAX_BYTES): its length, or -EINVAL (a field ticket_parse
 * would refuse). nonce NULL: random. */
int ticket_sign(uint8_t *out, size_t cap, uint32_t key_id, const uint8_t seed[TICKET_SEED_BYTES], uint64_t account,
                const char *name, size_t name_len, uint64_t expires_s, const uint8_t *nonce);
const char *ticket_verdict_name(ticket_verdict_t v);
/* The public key of a seed. */
void ticket_public_of(const uint8_t seed[TICKET_SEED_BYTES], uint8_t pk[TICKET_PUBLIC_KEY_BYTES]);

#endif

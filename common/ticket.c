/* Signed login tickets: see ticket.h. */
#include "ticket.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "bytes.h"
#include "utf8.h"

/* version, key id, account, expiry, nonce, name length: the fixed part before the name. */
#define TICKET_FIXED_BYTES (1 + 4 + 8 + 8 + TICKET_NONCE_BYTES + 1)

int ticket_crypto_init(void) { return sodium_init() < 0 ? -1 : 0; }

int ticket_parse(const uint8_t *p, size_t len, ticket_t *out) {
    byte_reader_t r = br_init(p, len);
    memset(out, 0, sizeof *out);
    uint8_t version = br_u8(&r);
    out->key_id = br_u32(&r);
    out->account = br_u64(&r);
    out->expires_s = br_u64(&r);
    const uint8_t *nonce = br_bytes(&r, TICKET_NONCE_BYTES);
    out->name_len = br_u8(&r);
    const uint8_t *name = br_bytes(&r, out->name_len);
    br_bytes(&r, TICKET_SIG_BYTES);
    if (r.err || version != TICKET_VERSION || out->account == 0 || out->name_len == 0 || out->name_len > TICKET_NAME_MAX ||
        !utf8_valid(name, out->name_len))
        return -EINVAL; /* the name reaches other players: well-formed UTF-8 only, signed or not */
    memcpy(out->nonce, nonce, TICKET_NONCE_BYTES);
    memcpy(out->name, name, out->name_len);
    out->name[out->name_len] = 0;
    return (int)r.off;
}

/* The signed message: the domain, then every ticket byte before the signature. */
static size_t signed_message(uint8_t *msg, const uint8_t *ticket, size_t body_len) {
    memcpy(msg, TICKET_DOMAIN, sizeof TICKET_DOMAIN - 1);
    memcpy(msg + sizeof TICKET_DOMAIN - 1, ticket, body_len);
    return sizeof TICKET_DOMAIN - 1 + body_len;
}

ticket_verdict_t ticket_check(const ticket_keyring_t *keys, const uint8_t *p, size_t len, uint64_t now_s, ticket_t *out,
                              size_t *consumed) {
    int n = ticket_parse(p, len, out);
    if (n < 0) return TICKET_MALFORMED;
    *consumed = (size_t)n;
    const ticket_key_t *key = NULL;
    for (uint32_t i = 0; i < keys->count && !key; i++)
        if (keys->keys[i].id == out->key_id) key = &keys->keys[i];
    if (!key) return TICKET_UNKNOWN_KEY;
    size_t body = (size_t)n - TICKET_SIG_BYTES;
    uint8_t msg[sizeof TICKET_DOMAIN + TICKET_MAX_BYTES];
    size_t mlen = signed_message(msg, p, body);
    if (crypto_sign_verify_detached(p + body, msg, mlen, key->pk) != 0) return TICKET_BAD_SIGNATURE;
    if (out->expires_s <= now_s) return TICKET_EXPIRED;
    return TICKET_OK;
}

int ticket_sign(uint8_t *out, size_t cap, uint32_t key_id, const uint8_t seed[TICKET_SEED_BYTES], uint64_t account,
                const char *name, size_t name_len, uint64_t expires_s, const uint8_t *nonce) {
    if (cap < TICKET_MAX_BYTES || account == 0 || name_len == 0 || name_len > TICKET_NAME_MAX ||
        !utf8_valid((const uint8_t *)name, name_len))
        return -EINVAL;
    byte_writer_t w = bw_init(out, cap);
    bw_u8(&w, TICKET_VERSION);
    bw_u32(&w, key_id);
    bw_u64(&w, account);
    bw_u64(&w, expires_s);
    uint8_t *n = bw_take(&w, TICKET_NONCE_BYTES);
    if (nonce) memcpy(n, nonce, TICKET_NONCE_BYTES);
    else randombytes_buf(n, TICKET_NONCE_BYTES);
    bw_u8(&w, (uint8_t)name_len);
    memcpy(bw_take(&w, name_len), name, name_len);
    size_t body = w.off;
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(pk, sk, seed);
    uint8_t msg[sizeof TICKET_DOMAIN + TICKET_MAX_BYTES];
    size_t mlen = signed_message(msg, out, body);
    crypto_sign_detached(bw_take(&w, TICKET_SIG_BYTES), NULL, msg, mlen, sk);
    sodium_memzero(sk, sizeof sk);
    return (int)w.off;
}

void ticket_public_of(const uint8_t seed[TICKET_SEED_BYTES], uint8_t pk[TICKET_PUBLIC_KEY_BYTES]) {
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(sk, sizeof sk);
}

const char *ticket_verdict_name(ticket_verdict_t v) {
    static const char *const names[] = { "ok", "malformed", "bad_signature", "unknown_key", "expired" };
    return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "unknown";
}

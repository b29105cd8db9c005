/* ticket_keys: the key files of signed logins, as text. A public key file (what every game server
 * loads, auth.key_file) and a secret key file (what only the login backend holds) share one
 * layout: a key per line, "<key id> <32 bytes as 64 hex digits>", blank lines and # comments
 * ignored. Several lines are a rotation: the server takes any listed key, the issuer signs with
 * the last. No I/O: callers read the file. */
#ifndef GSKEL_TICKET_KEYS_H
#define GSKEL_TICKET_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "ticket.h"

typedef struct ticket_secret {
    uint32_t id;
    uint8_t seed[TICKET_SEED_BYTES];
} ticket_secret_t;

/* 0, or -EINVAL with err = one line "NAME:LINE: what" (bad id, bad hex, extra fields, a
 * duplicate id, more than TICKET_KEYS_MAX keys). */
int ticket_keys_parse_public(const char *name, const char *text, size_t len, ticket_keyring_t *out, char *err,
                             size_t err_len);
/* The newest (last) key of a secret key file; -ENOENT if it has none. */
int ticket_keys_parse_secret(const char *name, const char *text, size_t len, ticket_secret_t *newest, char *err,
                             size_t err_len);

#endif

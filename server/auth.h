/* auth: who a LOGIN says the player is, and whether to believe it. Owns the ticket keys (read
 * from auth.key_file at start, replaced on SIGHUP), the nonces of the tickets taken while they are
 * still valid (a replay is refused), and the account directory: which session holds each account,
 * so that a second LOGIN takes over from the first. Shared by every worker behind one lock that a
 * login takes twice, briefly; the signature is checked outside it, and the per-frame path never
 * comes here. */
#ifndef GSKEL_AUTH_H
#define GSKEL_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "reason.h"
#include "ticket.h"
#include "ticket_keys.h"

typedef struct auth auth_t;

/* With auth.mode "ticket", reads the key file: -errno or -EINVAL with err = one line naming the
 * file (and line). With "none", loads nothing. */
int auth_create(auth_t **out, const cfg_t *cfg, char *err, size_t err_len);
void auth_destroy(auth_t *a);
/* SIGHUP: reads the key file again; on error the keys in use stay and err says why. */
int auth_reload_keys(auth_t *a, const char *path, char *err, size_t err_len);
/* How many keys are loaded (logs, metrics). */
uint32_t auth_key_count(auth_t *a);

/* A LOGIN ticket at p: REASON_NONE and the ticket in *t (its length in *consumed), or why it is
 * refused: REASON_BAD_TICKET (malformed, forged, replayed), REASON_TICKET_EXPIRED (expired, or a
 * key not loaded), REASON_KICKED (the nonce cache is full of live tickets: come back later). */
reason_t auth_check_ticket(auth_t *a, const uint8_t *p, size_t len, uint64_t now_s, ticket_t *t, size_t *consumed);

/* Bytes no one can guess (resume tokens). */
void auth_random(void *out, size_t len);
/* Compares secrets in time that does not depend on where they differ. */
bool auth_token_equal(const uint8_t *a, const uint8_t *b, size_t len);

/* The account directory. Claim makes `session` the account's holder and returns the one it
 * replaces (to be told logged_in_elsewhere), or UINT32_MAX; *order numbers the claims (a later
 * claim has a greater number, whichever worker made it: the game's joins arrive on per-worker
 * lanes and are put in this order). Release forgets the account if `session` still holds it. */
uint32_t auth_claim_account(auth_t *a, uint64_t account, uint32_t session, uint64_t *order);
void auth_release_account(auth_t *a, uint64_t account, uint32_t session);
/* Accounts held now (metrics). */
uint32_t auth_accounts_online(auth_t *a);

#endif

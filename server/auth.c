/* Ticket keys, replayed nonces and the account directory: see auth.h. */
#include "auth.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "alloc.h"
#include "u64_map.h"

/* A key file is a few lines; a bigger one is a mistake (a secret key file, a binary). */
#define AUTH_KEY_FILE_MAX (64u * 1024u)

typedef struct seen_nonce {
    uint8_t nonce[TICKET_NONCE_BYTES];
    uint64_t expires_s;
} seen_nonce_t;

struct auth {
    atomic_flag lock; /* held for map operations only (as the guard's) */
    cfg_auth_t mode;
    ticket_keyring_t keys;
    /* Nonces of tickets taken, until they expire: a map from the nonce's folded bits to its
     * entry, the entries packed in arrival order and compacted when full. */
    u64_map_t nonce_index;
    seen_nonce_t *nonces;
    uint32_t nonce_count, nonce_cap;
    u64_map_t accounts; /* account -> the session holding it */
    uint64_t claims;    /* claims made: the order of logins */
};

static void lock(auth_t *a) {
    while (atomic_flag_test_and_set_explicit(&a->lock, memory_order_acquire)) {}
}
static void unlock(auth_t *a) { atomic_flag_clear_explicit(&a->lock, memory_order_release); }

static int read_key_file(const char *path, ticket_keyring_t *out, char *err, size_t err_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, err_len, "%s: cannot read: %s (auth.key_file; make one with gskel-ticket --new-key)", path,
                 strerror(e));
        return -e;
    }
    char *text = gs_malloc(AUTH_KEY_FILE_MAX + 1);
    size_t n = fread(text, 1, AUTH_KEY_FILE_MAX + 1, f);
    int failed = ferror(f);
    fclose(f);
    int rc = 0;
    if (failed) {
        snprintf(err, err_len, "%s: cannot read (auth.key_file)", path);
        rc = -EIO;
    } else if (n > AUTH_KEY_FILE_MAX) {
        snprintf(err, err_len, "%s: file too large for a key file (auth.key_file)", path);
        rc = -EFBIG;
    } else if (ticket_keys_parse_public(path, text, n, out, err, err_len) < 0) {
        rc = -EINVAL;
    } else if (out->count == 0) {
        snprintf(err, err_len, "%s: no keys (auth.key_file)", path);
        rc = -EINVAL;
    }
    gs_free(text);
    return rc;
}

int auth_create(auth_t **out, const cfg_t *cfg, char *err, size_t err_len) {
    *out = NULL;
    auth_t *a = gs_calloc(1, sizeof *a);
    a->mode = cfg->auth.mode;
    if (a->mode == CFG_AUTH_TICKET) {
        int rc = ticket_crypto_init() < 0 ? -EIO : read_key_file(cfg->auth.key_file, &a->keys, err, err_len);
        if (rc < 0) {
            if (rc == -EIO && !err[0]) snprintf(err, err_len, "auth: the crypto library failed to start");
            gs_free(a);
            return rc;
        }
    }
    atomic_flag_clear(&a->lock);
    a->nonce_cap = cfg->auth.replay_cache_entries;
    u64_map_init(&a->nonce_index, a->nonce_cap);
    a->nonces = gs_calloc(a->nonce_cap, sizeof *a->nonces);
    u64_map_init(&a->accounts, cfg->session.max_sessions);
    *out = a;
    return 0;
}

void auth_destroy(auth_t *a) {
    if (!a) return;
    u64_map_destroy(&a->nonce_index);
    u64_map_destroy(&a->accounts);
    gs_free(a->nonces);
    gs_free(a);
}

int auth_reload_keys(auth_t *a, const char *path, char *err, size_t err_len) {
    if (a->mode != CFG_AUTH_TICKET) return 0;
    ticket_keyring_t fresh;
    int rc = read_key_file(path, &fresh, err, err_len);
    if (rc < 0) return rc;
    lock(a);
    a->keys = fresh;
    unlock(a);
    return 0;
}

uint32_t auth_key_count(auth_t *a) {
    lock(a);
    uint32_t n = a->keys.count;
    unlock(a);
    return n;
}

static uint64_t nonce_key(const uint8_t nonce[TICKET_NONCE_BYTES]) {
    uint64_t lo, hi;
    memcpy(&lo, nonce, 8);
    memcpy(&hi, nonce + 8, 8);
    uint64_t k = lo ^ hi;
    return k ? k : 1; /* 0 means empty in the map */
}

/* Drops the expired nonces; false if the live ones still fill the cache. */
static bool nonces_compact(auth_t *a, uint64_t now_s) {
    uint32_t kept = 0;
    u64_map_destroy(&a->nonce_index);
    u64_map_init(&a->nonce_index, a->nonce_cap);
    for (uint32_t i = 0; i < a->nonce_count; i++) {
        if (a->nonces[i].expires_s <= now_s) continue;
        a->nonces[kept] = a->nonces[i];
        u64_map_put(&a->nonce_index, nonce_key(a->nonces[kept].nonce), kept, NULL);
        kept++;
    }
    a->nonce_count = kept;
    return kept < a->nonce_cap;
}

/* Remembers a nonce until its ticket expires: REASON_NONE, or BAD_TICKET if it is already known
 * (a replay), or KICKED if there is no room. Called with the lock held. */
static reason_t nonce_take(auth_t *a, const ticket_t *t, uint64_t now_s) {
    uint64_t key = nonce_key(t->nonce);
    uint32_t at;
    if (u64_map_get(&a->nonce_index, key, &at) && a->nonces[at].expires_s > now_s) return REASON_BAD_TICKET;
    if (a->nonce_count == a->nonce_cap && !nonces_compact(a, now_s)) return REASON_KICKED;
    seen_nonce_t *n = &a->nonces[a->nonce_count];
    memcpy(n->nonce, t->nonce, sizeof n->nonce);
    n->expires_s = t->expires_s;
    if (u64_map_put(&a->nonce_index, key, a->nonce_count, NULL) < 0) return REASON_KICKED;
    a->nonce_count++;
    return REASON_NONE;
}

reason_t auth_check_ticket(auth_t *a, const uint8_t *p, size_t len, uint64_t now_s, ticket_t *t, size_t *consumed) {
    ticket_keyring_t keys;
    lock(a);
    keys = a->keys; /* a copy: the signature is checked without the lock */
    unlock(a);
    switch (ticket_check(&keys, p, len, now_s, t, consumed)) {
    case TICKET_OK:
        break;
    case TICKET_UNKNOWN_KEY: /* signed by a key this server does not hold (yet, or any more) */
    case TICKET_EXPIRED:
        return REASON_TICKET_EXPIRED;
    case TICKET_MALFORMED:
    case TICKET_BAD_SIGNATURE:
    default:
        return REASON_BAD_TICKET;
    }
    lock(a);
    reason_t r = nonce_take(a, t, now_s);
    unlock(a);
    return r;
}

uint32_t auth_claim_account(auth_t *a, uint64_t account, uint32_t session, uint64_t *order) {
    uint32_t old = UINT32_MAX;
    lock(a);
    *order = ++a->claims;
    /* Full means more accounts than sessions, which cannot happen: the claim is then skipped. */
    if (u64_map_put(&a->accounts, account, session, &old) != 1) old = UINT32_MAX;
    unlock(a);
    return old == session ? UINT32_MAX : old;
}

void auth_release_account(auth_t *a, uint64_t account, uint32_t session) {
    lock(a);
    u64_map_remove_if(&a->accounts, account, session);
    unlock(a);
}

uint32_t auth_accounts_online(auth_t *a) {
    lock(a);
    uint32_t n = a->accounts.count;
    unlock(a);
    return n;
}

void auth_random(void *out, size_t len) { randombytes_buf(out, len); }
bool auth_token_equal(const uint8_t *a, const uint8_t *b, size_t len) { return sodium_memcmp(a, b, len) == 0; }

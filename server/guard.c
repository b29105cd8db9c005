/* The per-address table: see guard.h. */
#include "guard.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "alloc.h"

typedef struct guard_entry {
    struct guard_entry *next;
    sock_ip_t key;            /* port 0, IPv6 masked to the prefix */
    uint32_t conns;
    uint32_t kicks;           /* abusive kicks in the current window */
    uint64_t window_start_ms;
    uint64_t ban_until_ms;
} guard_entry_t;

struct guard {
    atomic_flag lock;
    guard_entry_t **buckets;
    uint32_t mask;
    uint32_t count, max_entries;
    uint32_t sweep_next;       /* the bucket the next call tidies */
    uint32_t max_conns, autoban_kicks;
    uint64_t window_ms, ban_ms;
    uint32_t v6_prefix_bits;
};

static void lock(guard_t *g) {
    while (atomic_flag_test_and_set_explicit(&g->lock, memory_order_acquire)) {}
}
static void unlock(guard_t *g) { atomic_flag_clear_explicit(&g->lock, memory_order_release); }

static void take_limits(guard_t *g, const cfg_t *cfg) {
    g->max_conns = cfg->guard.max_conns_per_ip;
    g->autoban_kicks = cfg->guard.autoban_kicks;
    g->window_ms = (uint64_t)cfg->guard.autoban_window_s * 1000u;
    g->ban_ms = (uint64_t)cfg->guard.ban_seconds * 1000u;
}

/* The address table's hash buckets: a power of two between these, about one per tracked address. */
#define GUARD_MIN_BUCKETS 1024u
#define GUARD_MAX_BUCKETS (1u << 22)

int guard_create(guard_t **out, const cfg_t *cfg) {
    guard_t *g = gs_calloc(1, sizeof *g);
    atomic_flag_clear(&g->lock);
    g->max_entries = cfg->guard.max_tracked_ips;
    uint32_t buckets = GUARD_MIN_BUCKETS;
    while (buckets < g->max_entries && buckets < GUARD_MAX_BUCKETS) buckets <<= 1;
    g->buckets = gs_calloc(buckets, sizeof *g->buckets);
    g->mask = buckets - 1;
    g->v6_prefix_bits = cfg->guard.ipv6_prefix_bits;
    take_limits(g, cfg);
    *out = g;
    return 0;
}

void guard_reconfigure(guard_t *g, const cfg_t *cfg) {
    lock(g);
    if (!cfg->guard.max_conns_per_ip) {
        for (uint32_t i = 0; i <= g->mask; i++)
            for (guard_entry_t *e = g->buckets[i]; e; e = e->next) e->conns = 0;
    }
    take_limits(g, cfg);
    unlock(g);
}

void guard_destroy(guard_t *g) {
    if (!g) return;
    for (uint32_t i = 0; i <= g->mask; i++) {
        for (guard_entry_t *e = g->buckets[i], *next; e; e = next) {
            next = e->next;
            gs_free(e);
        }
    }
    gs_free(g->buckets);
    gs_free(g);
}

static sock_ip_t key_of(const guard_t *g, const sock_ip_t *ip) {
    sock_ip_t k = *ip;
    k.port = 0;
    if (k.family == 6) {
        for (uint32_t bit = g->v6_prefix_bits; bit < 128; bit++) k.addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
    }
    return k;
}

int guard_same_group(const guard_t *g, const sock_ip_t *a, const sock_ip_t *b) {
    sock_ip_t ka = key_of(g, a), kb = key_of(g, b);
    return ka.family == kb.family && !memcmp(ka.addr, kb.addr, 16);
}

static uint32_t hash_of(const sock_ip_t *k) {
    uint32_t h = 2166136261u ^ k->family; /* FNV-1a */
    for (int i = 0; i < 16; i++) h = (h ^ k->addr[i]) * 16777619u;
    return h;
}

static int idle(const guard_t *g, const guard_entry_t *e, uint64_t now) {
    return e->conns == 0 && e->ban_until_ms <= now && (e->kicks == 0 || now - e->window_start_ms >= g->window_ms);
}

/* Drops the idle entries of one bucket: a spray of addresses that each misbehaved once cannot
 * grow the table for ever. */
static void sweep_bucket(guard_t *g, uint32_t b, uint64_t now) {
    for (guard_entry_t **pp = &g->buckets[b]; *pp;) {
        guard_entry_t *e = *pp;
        if (idle(g, e, now)) {
            *pp = e->next;
            gs_free(e);
            g->count--;
        } else {
            pp = &e->next;
        }
    }
}

static guard_entry_t *find(guard_t *g, const sock_ip_t *k, int create, uint64_t now) {
    uint32_t b = hash_of(k) & g->mask;
    sweep_bucket(g, g->sweep_next++ & g->mask, now);

    for (guard_entry_t *e = g->buckets[b]; e; e = e->next)
        if (e->key.family == k->family && !memcmp(e->key.addr, k->addr, 16)) return e;
    if (!create || g->count >= g->max_entries) return NULL;
    guard_entry_t *e = gs_calloc(1, sizeof *e);
    e->key = *k;
    e->next = g->buckets[b];
    g->buckets[b] = e;
    g->count++;
    return e;
}

reason_t guard_admit(guard_t *g, const sock_ip_t *ip, uint64_t now_ms) {
    if (!ip->family) return REASON_NONE; /* no address to hold it to (reset before accept) */
    sock_ip_t k = key_of(g, ip);
    reason_t verdict = REASON_NONE;
    lock(g);
    guard_entry_t *e = find(g, &k, g->max_conns != 0, now_ms);
    if (e && e->ban_until_ms > now_ms) verdict = REASON_BANNED;
    else if (e && g->max_conns && e->conns >= g->max_conns) verdict = REASON_IP_LIMIT;
    else if (e && g->max_conns) e->conns++;
    unlock(g);
    return verdict;
}

int guard_release(guard_t *g, const sock_ip_t *ip, reason_t why, uint64_t now_ms) {
    if (!ip->family) return 0;
    sock_ip_t k = key_of(g, ip);
    int banned = 0;
    int abuse = g->autoban_kicks && reason_is_abuse(why);
    lock(g);
    guard_entry_t *e = find(g, &k, abuse, now_ms);
    if (e && g->max_conns && e->conns) e->conns--;
    if (e && abuse) {
        if (e->kicks == 0 || now_ms - e->window_start_ms >= g->window_ms) {
            e->kicks = 0;
            e->window_start_ms = now_ms;
        }
        if (++e->kicks >= g->autoban_kicks) {
            e->ban_until_ms = now_ms + g->ban_ms;
            e->kicks = 0;
            banned = 1;
        }
    }
    unlock(g);
    return banned;
}

int guard_ban(guard_t *g, const sock_ip_t *ip, uint32_t seconds, uint64_t now_ms) {
    sock_ip_t k = key_of(g, ip);
    lock(g);
    guard_entry_t *e = find(g, &k, seconds != 0, now_ms);
    if (e) e->ban_until_ms = seconds ? now_ms + (uint64_t)seconds * 1000u : 0;
    unlock(g);
    return e || !seconds ? 0 : -ENOSPC;
}

uint32_t guard_ban_left(guard_t *g, const sock_ip_t *ip, uint64_t now_ms) {
    sock_ip_t k = key_of(g, ip);
    lock(g);
    guard_entry_t *e = find(g, &k, 0, now_ms);
    uint32_t left = e && e->ban_until_ms > now_ms ? (uint32_t)((e->ban_until_ms - now_ms + 999) / 1000) : 0;
    unlock(g);
    return left;
}

uint32_t guard_conns(guard_t *g, const sock_ip_t *ip, uint64_t now_ms) {
    sock_ip_t k = key_of(g, ip);
    lock(g);
    guard_entry_t *e = find(g, &k, 0, now_ms);
    uint32_t n = e ? e->conns : 0;
    unlock(g);
    return n;
}

/* u64_map: a map from a non-zero u64 key to a u32 value, open addressing with linear probing and
 * backward-shift deletion (no tombstones, so a long-running map never slows down). A fixed
 * capacity chosen at init: the owner sizes it for what it must hold (accounts online, players in
 * the game) and refuses what does not fit. Not thread-safe: the owner locks, or owns it alone. */
#ifndef GSKEL_U64_MAP_H
#define GSKEL_U64_MAP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct u64_map_slot {
    uint64_t key; /* 0 = empty */
    uint32_t value;
} u64_map_slot_t;

typedef struct u64_map {
    u64_map_slot_t *slots;
    uint32_t mask;  /* capacity - 1 (a power of two, at least twice the entries allowed) */
    uint32_t count, limit;
} u64_map_t;

/* Room for at least `entries` keys. */
int u64_map_init(u64_map_t *m, uint32_t entries);
void u64_map_destroy(u64_map_t *m);
/* The value of key in *value and true, or false. */
bool u64_map_get(const u64_map_t *m, uint64_t key, uint32_t *value);
/* Sets key's value; the previous one in *old (if non-NULL) and 1 if key was there, 0 if added,
 * -ENOSPC if full, -EINVAL for key 0. */
int u64_map_put(u64_map_t *m, uint64_t key, uint32_t value, uint32_t *old);
/* Removes key if its value is `value` (a newer holder stays): true if removed. */
bool u64_map_remove_if(u64_map_t *m, uint64_t key, uint32_t value);

#endif

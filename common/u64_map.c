/* Open addressing u64 -> u32: see u64_map.h. */
#include "u64_map.h"

#include <errno.h>

#include "alloc.h"

/* Keys may be chosen by someone else (account ids): mixed so that neighbours spread out. */
static uint32_t slot_of(const u64_map_t *m, uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (uint32_t)key & m->mask;
}

int u64_map_init(u64_map_t *m, uint32_t entries) {
    uint32_t cap = 16;
    while (cap < 2ull * entries && cap < (1u << 31)) cap <<= 1;
    m->slots = gs_calloc(cap, sizeof *m->slots);
    m->mask = cap - 1;
    m->count = 0;
    m->limit = cap / 2;
    return 0;
}

void u64_map_destroy(u64_map_t *m) {
    gs_free(m->slots);
    m->slots = NULL;
    m->count = 0;
}

static uint32_t find(const u64_map_t *m, uint64_t key) {
    uint32_t i = slot_of(m, key);
    while (m->slots[i].key && m->slots[i].key != key) i = (i + 1) & m->mask;
    return i;
}

bool u64_map_get(const u64_map_t *m, uint64_t key, uint32_t *value) {
    if (!key) return false;
    uint32_t i = find(m, key);
    if (!m->slots[i].key) return false;
    *value = m->slots[i].value;
    return true;
}

int u64_map_put(u64_map_t *m, uint64_t key, uint32_t value, uint32_t *old) {
    if (!key) return -EINVAL;
    uint32_t i = find(m, key);
    if (m->slots[i].key) {
        if (old) *old = m->slots[i].value;
        m->slots[i].value = value;
        return 1;
    }
    if (m->count >= m->limit) return -ENOSPC;
    m->slots[i] = (u64_map_slot_t){ key, value };
    m->count++;
    return 0;
}

bool u64_map_remove_if(u64_map_t *m, uint64_t key, uint32_t value) {
    if (!key) return false;
    uint32_t i = find(m, key);
    if (!m->slots[i].key || m->slots[i].value != value) return false;
    /* Backward shift: move later entries of the probe run into the hole while that keeps each
     * reachable from its home slot. */
    uint32_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        if (!m->slots[j].key) break;
        uint32_t home = slot_of(m, m->slots[j].key);
        /* j's entry may fill the hole unless its home lies cyclically in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays) continue;
        m->slots[hole] = m->slots[j];
        hole = j;
    }
    m->slots[hole] = (u64_map_slot_t){ 0, 0 };
    m->count--;
    return true;
}

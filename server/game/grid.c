/* The area-of-interest grid: see grid.h. */
#include "grid.h"

#include <string.h>

#include "alloc.h"

/* Rounds towards minus infinity, so cell -1 is left of cell 0 and not folded into it. */
static int64_t cell_of(const grid_t *g, int32_t v) {
    int64_t c = v / g->cell;
    return (v % g->cell < 0) ? c - 1 : c;
}

static uint32_t bucket_of(const grid_t *g, int64_t cx, int64_t cy) {
    uint32_t h = (uint32_t)cx * 0x9E3779B1u ^ (uint32_t)cy * 0x85EBCA77u;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return h & g->mask;
}

void grid_init(grid_t *g, uint32_t items, int32_t cell) {
    uint32_t buckets = 1;
    while (buckets < items && buckets < (1u << 31)) buckets <<= 1;
    *g = (grid_t){ .cell = cell, .mask = buckets - 1, .epoch = 1 };
    g->head = gs_calloc(buckets, sizeof *g->head);
    g->stamp = gs_calloc(buckets, sizeof *g->stamp);
    g->next = gs_calloc(items, sizeof *g->next);
}

void grid_destroy(grid_t *g) {
    gs_free(g->head);
    gs_free(g->stamp);
    gs_free(g->next);
    *g = (grid_t){ 0 };
}

void grid_clear(grid_t *g) {
    if (++g->epoch == 0) {
        /* Wrapped: a stamp from 2^32 clears ago would read as current. */
        memset(g->stamp, 0, ((size_t)g->mask + 1) * sizeof *g->stamp);
        g->epoch = 1;
    }
}

void grid_insert(grid_t *g, uint32_t item, int32_t x, int32_t y) {
    uint32_t b = bucket_of(g, cell_of(g, x), cell_of(g, y));
    g->next[item] = g->stamp[b] == g->epoch ? g->head[b] : GRID_NONE;
    g->head[b] = item;
    g->stamp[b] = g->epoch;
}

uint32_t grid_around(const grid_t *g, int32_t x, int32_t y, uint32_t buckets[GRID_AROUND]) {
    static const int8_t around[GRID_AROUND][2] = { { 0, 0 },  { -1, -1 }, { 0, -1 }, { 1, -1 }, { -1, 0 },
                                                   { 1, 0 }, { -1, 1 },  { 0, 1 },  { 1, 1 } };
    int64_t cx = cell_of(g, x), cy = cell_of(g, y);
    uint32_t n = 0;
    for (int i = 0; i < GRID_AROUND; i++) {
        uint32_t b = bucket_of(g, cx + around[i][0], cy + around[i][1]);
        uint32_t k = 0;
        while (k < n && buckets[k] != b) k++;
        if (k == n) buckets[n++] = b; /* two cells in one bucket: walk it once */
    }
    return n;
}

uint32_t grid_first(const grid_t *g, uint32_t bucket) {
    return g->stamp[bucket] == g->epoch ? g->head[bucket] : GRID_NONE;
}

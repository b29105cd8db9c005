/* grid: who is near a point, for the sample game's area of interest. A uniform grid of square
 * cells whose side is the interest radius, so everyone within that radius of a point sits in the
 * point's cell or one of the eight around it. Cells are hashed into a table sized by the number
 * of items, so memory follows the player count, not the world's area. Rebuilt every tick; it
 * keeps no positions, and cells that hash alike share a bucket: callers check real distances. */
#ifndef GSKEL_GAME_GRID_H
#define GSKEL_GAME_GRID_H

#include <stdint.h>

#define GRID_NONE UINT32_MAX
#define GRID_AROUND 9 /* a cell and its eight neighbours */

typedef struct grid {
    int32_t cell;    /* side of a cell, world units */
    uint32_t mask;   /* buckets - 1 */
    uint32_t epoch;  /* bumped by grid_clear: a bucket stamped with an older epoch is empty */
    uint32_t *head;  /* per bucket: its first item */
    uint32_t *stamp; /* per bucket: the epoch its head was written in */
    uint32_t *next;  /* per item: the next item in its bucket */
} grid_t;

/* Items are numbered 0..items-1 (the sample game uses session slots); cell > 0. */
void grid_init(grid_t *g, uint32_t items, int32_t cell);
void grid_destroy(grid_t *g);
/* Empties the grid in O(1): nothing is written but the epoch. */
void grid_clear(grid_t *g);
void grid_insert(grid_t *g, uint32_t item, int32_t x, int32_t y);
/* The buckets of the 3x3 cells around (x, y), the point's own cell first, each bucket once.
 * Returns how many were written (1..GRID_AROUND). */
uint32_t grid_around(const grid_t *g, int32_t x, int32_t y, uint32_t buckets[GRID_AROUND]);
/* Walks one bucket: grid_first, then grid_next until GRID_NONE. */
uint32_t grid_first(const grid_t *g, uint32_t bucket);
static inline uint32_t grid_next(const grid_t *g, uint32_t item) { return g->next[item]; }

#endif

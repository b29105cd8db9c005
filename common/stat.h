/* stat: counters with one writer (the thread that owns them) and readers anywhere (metrics).
 * Relaxed loads and stores, no read-modify-write, so counting costs a plain add on the hot path.
 * A counter with several writers is counted with stat_add_shared (atomic_fetch_add) only. */
#ifndef GSKEL_STAT_H
#define GSKEL_STAT_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint64_t stat_t;

static inline void stat_add(stat_t *c, uint64_t n) {
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}
static inline void stat_sub(stat_t *c, uint64_t n) { stat_add(c, (uint64_t)0 - n); }
/* For the rare counter that several threads write (a queue's refusals): a real read-modify-write. */
static inline void stat_add_shared(stat_t *c, uint64_t n) { atomic_fetch_add_explicit(c, n, memory_order_relaxed); }
static inline uint64_t stat_read(const stat_t *c) { return atomic_load_explicit(c, memory_order_relaxed); }

#endif

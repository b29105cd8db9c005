/* loop_clock: an event loop's notion of "now", read from the OS clock at most once per loop turn
 * however many events the turn handles. Owns no clock of its own: the reader is given (the OS
 * clock, or a test's). The loop marks the time stale where waiting may have passed time. */
#ifndef GSKEL_LOOP_CLOCK_H
#define GSKEL_LOOP_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct loop_clock {
    uint64_t (*read_us)(void); /* monotonic microseconds */
    uint64_t now_ms;
    bool fresh;
} loop_clock_t;

static inline uint64_t loop_clock_ms(loop_clock_t *c) {
    if (!c->fresh) {
        c->now_ms = c->read_us() / 1000u;
        c->fresh = true;
    }
    return c->now_ms;
}

/* The next loop_clock_ms reads the clock again (after a wait). */
static inline void loop_clock_stale(loop_clock_t *c) { c->fresh = false; }

/* base + ms, or 0 (no deadline) when ms is 0: a timeout of 0 means "off" in every config key. */
static inline uint64_t deadline_after(uint64_t base, uint32_t ms) { return ms ? base + ms : 0; }
/* The earlier of two deadlines, where 0 means none. */
static inline uint64_t deadline_earliest(uint64_t a, uint64_t b) { return !a ? b : !b ? a : a < b ? a : b; }

#endif

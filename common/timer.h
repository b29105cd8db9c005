/* timer: a hashed timer wheel (Varghese & Lauck, scheme 6) for per-session deadlines.
 * Owns the slot lists only: nodes are embedded in their owners (zeroed = not armed), so arm and
 * cancel are O(1) and allocate nothing. Single-threaded (one wheel per worker); never reads a
 * clock: every call that needs the time is given it, and time never runs backwards for a wheel
 * (an earlier now_ms is taken as the latest one seen). */
#ifndef GSKEL_TIMER_H
#define GSKEL_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct timer_node {
    struct timer_node *next, *prev;
    uint64_t expires_ms;
} timer_node_t; /* embedded in the owner; zeroed = not armed */

typedef void (*timer_fn)(void *ctx, timer_node_t *t);

typedef struct timer_wheel {
    timer_node_t *slots;   /* circular lists with the slot itself as sentinel */
    uint32_t mask;         /* slots - 1 */
    uint32_t tick_ms;
    uint64_t cur_tick;     /* tick of now_ms; overdue arms go into its slot */
    uint64_t now_ms;       /* latest time seen */
    size_t count;          /* armed timers */
    uint64_t earliest_ms;  /* exact minimum expires_ms of the armed timers, if earliest_valid */
    bool earliest_valid;
} timer_wheel_t;

/* tick_ms > 0; slots a power of two. -EINVAL otherwise. One revolution is tick_ms * slots:
 * make it longer than the common deadlines so most timers are visited once, when due. */
int timer_wheel_init(timer_wheel_t *w, uint64_t now_ms, uint32_t tick_ms, uint32_t slots);

/* Disarms (zeroes the links of) every timer still armed, then frees the slots. */
void timer_wheel_destroy(timer_wheel_t *w);

/* Arming an armed node moves it. A deadline at or before the wheel's time fires on the next
 * advance (or in the running one, if armed from a callback of a later slot). */
void timer_arm(timer_wheel_t *w, timer_node_t *t, uint64_t expires_ms);

void timer_cancel(timer_wheel_t *w, timer_node_t *t); /* no-op if not armed */

static inline bool timer_armed(const timer_node_t *t) { return t->next != NULL; }

/* Milliseconds until the earliest armed deadline (0 if overdue, clamped to INT_MAX), -1 if no
 * timer is armed. Never late. O(1) right after an advance; after cancelling the earliest timer
 * it scans until the next advance. */
int timer_wheel_timeout_ms(const timer_wheel_t *w, uint64_t now_ms);

/* Fires every timer with expires_ms <= now_ms (in no particular order) and returns how many.
 * A node is disarmed before its callback runs; the callback may arm or cancel any timer,
 * itself included. A long gap visits each slot at most once. */
uint32_t timer_wheel_advance(timer_wheel_t *w, uint64_t now_ms, timer_fn fn, void *ctx);

size_t timer_wheel_count(const timer_wheel_t *w);

#endif

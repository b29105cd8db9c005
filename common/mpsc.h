/* mpsc: a bounded multi-producer single-consumer queue of fixed-size elements, lock-free
 * (Vyukov's bounded queue: one sequence number per cell). Carries work into a worker from other
 * threads (admin kicks, frames from the logic thread). Allocates once, at init; a full queue
 * refuses the push and leaves the policy (drop, count, retry) to the caller. */
#ifndef GSKEL_MPSC_H
#define GSKEL_MPSC_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mpsc mpsc_t;

/* capacity: a power of two >= 2; elem_size > 0. -EINVAL otherwise. */
int mpsc_init(mpsc_t **out, size_t capacity, size_t elem_size);
void mpsc_destroy(mpsc_t *q); /* NULL is a no-op; no thread may still be using q */

/* Any thread. Copies elem_size bytes in. 0, or -EAGAIN when full. */
int mpsc_push(mpsc_t *q, const void *elem);

/* The one consumer thread only. Copies the oldest element out; false when empty. A producer
 * that has claimed a cell but not yet filled it makes the queue look empty from that cell on
 * until it finishes: elements are never handed out of order. */
bool mpsc_pop(mpsc_t *q, void *out);

size_t mpsc_capacity(const mpsc_t *q);

#endif

/* spsc: a single-producer single-consumer ring of variable-size records, for frames crossing
 * between a worker and the logic thread (one ring per direction per worker). Lock-free: the
 * producer writes and publishes its tail, the consumer reads and publishes its head. A record
 * never wraps: if it does not fit before the end, a skip marker sends the producer to the start.
 * Sized and touched at creation (resident from the start, never creeping up); full means the
 * caller decides (count, drop, kick), nothing blocks. */
#ifndef GSKEL_SPSC_H
#define GSKEL_SPSC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct spsc {
    _Alignas(64) _Atomic size_t head; /* consumer position (bytes, ever-growing) */
    _Alignas(64) _Atomic size_t tail; /* producer position */
    _Alignas(64) size_t cap;          /* power of two */
    size_t pending;                   /* producer: end of the open reservation */
    size_t staged;                    /* producer: end of committed, not yet published records */
    uint8_t *buf;
} spsc_t;

int spsc_init(spsc_t *r, size_t capacity);
void spsc_destroy(spsc_t *r);

/* Producer: room for a record of n bytes (8-aligned internally), or NULL if the ring is full.
 * Then fill it and spsc_commit. At most one reservation open at a time. */
void *spsc_reserve(spsc_t *r, size_t n);
/* Commits the reservation; the consumer sees it only after spsc_publish (so a batch, e.g. one
 * tick's frames, becomes visible at once). */
void spsc_commit(spsc_t *r);
void spsc_publish(spsc_t *r);
/* Producer: bytes free now (a caller keeping headroom for records that must not be lost). */
size_t spsc_free(const spsc_t *r);
/* Ring bytes a record of n bytes takes (its header and padding; a skip to the start aside). */
size_t spsc_record_bytes(size_t n);

/* Consumer: the oldest record and its size, or NULL if empty; spsc_release when done with it. */
const void *spsc_peek(spsc_t *r, size_t *n);
void spsc_release(spsc_t *r);

#endif

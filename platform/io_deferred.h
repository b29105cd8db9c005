/* io_deferred: completions a backend owes its caller but must not deliver from inside the call
 * that produced them (io_send finishing at once, io_close with nothing in flight), so callers
 * never re-enter themselves. A FIFO ring per loop, delivered at the end of each loop turn with
 * the contract's rule applied: after io_close, IO_CLOSED is the only completion of a handle.
 * Shared by every backend; no OS calls. */
#ifndef GSKEL_IO_DEFERRED_H
#define GSKEL_IO_DEFERRED_H

#include "io.h"

typedef struct io_deferred_entry {
    io_event_kind_t kind;
    io_handle_t *handle;
    int32_t res;
} io_deferred_entry_t;

typedef struct io_deferred {
    io_deferred_entry_t *ring;
    uint32_t head, count, cap;
} io_deferred_t;

void io_deferred_push(io_deferred_t *d, io_event_kind_t kind, io_handle_t *h, int32_t res);
/* Delivers every entry (including ones pushed by the callbacks it runs); returns how many. */
uint32_t io_deferred_deliver(io_deferred_t *d, io_event_fn fn, void *ctx);
static inline int io_deferred_pending(const io_deferred_t *d) { return d->count != 0; }
void io_deferred_free(io_deferred_t *d);

#endif

/* Deferred completions: see io_deferred.h. */
#include "io_deferred.h"

#include "alloc.h"

void io_deferred_push(io_deferred_t *d, io_event_kind_t kind, io_handle_t *h, int32_t res) {
    if (d->count == d->cap) {
        /* Grows by doubling (cap stays a power of two: indexes are masked, not divided),
         * unwrapping the ring; rare after warm-up. */
        uint32_t cap = d->cap ? d->cap * 2 : 256;
        io_deferred_entry_t *ring = gs_malloc(cap * sizeof *ring);
        for (uint32_t i = 0; i < d->count; i++) ring[i] = d->ring[(d->head + i) & (d->cap - 1)];
        gs_free(d->ring);
        d->ring = ring;
        d->head = 0;
        d->cap = cap;
    }
    d->ring[(d->head + d->count) & (d->cap - 1)] = (io_deferred_entry_t){ kind, h, res };
    d->count++;
}

uint32_t io_deferred_deliver(io_deferred_t *d, io_event_fn fn, void *ctx) {
    uint32_t delivered = 0;
    while (d->count) {
        io_deferred_entry_t e = d->ring[d->head];
        d->head = (d->head + 1) & (d->cap - 1);
        d->count--;
        if (e.kind == IO_CLOSED) {
            e.handle->state = IO_HANDLE_CLOSED;
        } else if (e.handle->state == IO_HANDLE_CLOSING || e.handle->state == IO_HANDLE_CLOSED) {
            continue;
        }
        if (e.kind == IO_SENT) e.handle->send_ptr = NULL; /* busy until its completion is seen */
        io_event_t ev = { .kind = e.kind, .handle = e.handle, .res = e.res };
        fn(ctx, &ev);
        delivered++;
    }
    return delivered;
}

void io_deferred_free(io_deferred_t *d) {
    gs_free(d->ring);
    *d = (io_deferred_t){ 0 };
}

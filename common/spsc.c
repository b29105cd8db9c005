/* SPSC record ring: see spsc.h. Each record: u32 size of the body (UINT32_MAX = skip to the
 * start), u32 unused, then the body, padded to 8 bytes. */
#include "spsc.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"

#define SPSC_SKIP UINT32_MAX
#define SPSC_HDR 8u

static size_t padded(size_t n) { return (n + 7u) & ~(size_t)7u; }

int spsc_init(spsc_t *r, size_t capacity) {
    if (capacity < 64 || (capacity & (capacity - 1))) return -EINVAL;
    memset(r, 0, sizeof *r);
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->cap = capacity;
    r->buf = gs_malloc(capacity);
    /* Touched now, all of it: the positions go round the whole ring however little it holds, so
     * untouched pages would be faulted in one by one for as long as the first lap takes (at a
     * soak's login rate, 40 minutes for 4 MiB): resident memory creeping up like a leak, and a page
     * fault inside a tick now and then. The ring's size is what it costs, from the start. */
    memset(r->buf, 0, capacity);
    return 0;
}

void spsc_destroy(spsc_t *r) {
    gs_free(r->buf);
    r->buf = NULL;
}

size_t spsc_record_bytes(size_t n) { return SPSC_HDR + padded(n); }

void *spsc_reserve(spsc_t *r, size_t n) {
    size_t need = spsc_record_bytes(n);
    size_t tail = r->staged;
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t off = tail & (r->cap - 1);
    size_t to_end = r->cap - off;
    size_t skip = need > to_end ? to_end : 0; /* a record never wraps */
    if (need > r->cap / 2 || (tail - head) + skip + need > r->cap) return NULL;
    if (skip) {
        uint32_t mark = SPSC_SKIP;
        memcpy(r->buf + off, &mark, sizeof mark);
        tail += skip;
        off = 0;
    }
    uint32_t size = (uint32_t)n;
    memcpy(r->buf + off, &size, sizeof size);
    r->pending = tail + need;
    return r->buf + off + SPSC_HDR;
}

void spsc_commit(spsc_t *r) { r->staged = r->pending; }

void spsc_publish(spsc_t *r) { atomic_store_explicit(&r->tail, r->staged, memory_order_release); }

size_t spsc_free(const spsc_t *r) { return r->cap - (r->staged - atomic_load_explicit(&r->head, memory_order_acquire)); }

const void *spsc_peek(spsc_t *r, size_t *n) {
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (;;) {
        size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head == tail) return NULL;
        size_t off = head & (r->cap - 1);
        uint32_t size;
        memcpy(&size, r->buf + off, sizeof size);
        if (size == SPSC_SKIP) {
            head += r->cap - off;
            atomic_store_explicit(&r->head, head, memory_order_release);
            continue;
        }
        *n = size;
        return r->buf + off + SPSC_HDR;
    }
}

void spsc_release(spsc_t *r) {
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint32_t size;
    memcpy(&size, r->buf + (head & (r->cap - 1)), sizeof size);
    atomic_store_explicit(&r->head, head + spsc_record_bytes(size), memory_order_release);
}

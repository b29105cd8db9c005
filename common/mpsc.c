#include "mpsc.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"

/* Producers hammer tail, the consumer owns head: each sits on its own cache line (128 bytes
 * covers adjacent-line prefetch on x86 and 128-byte lines on some arm64 cores), and the
 * read-only geometry sits on a third, so neither side's writes evict the other's reads. */
#define MPSC_LINE 128

typedef struct mpsc_cell {
    atomic_size_t seq; /* == pos: free for the push at pos; == pos + 1: holds its element */
    /* elem_size bytes follow, at max_align_t alignment */
} mpsc_cell_t;

struct mpsc {
    alignas(MPSC_LINE) atomic_size_t tail; /* next position to push */
    alignas(MPSC_LINE) size_t head;        /* next position to pop; consumer only */
    alignas(MPSC_LINE) size_t mask;
    size_t elem_size;
    size_t stride;        /* bytes per cell, header included */
    unsigned char *cells; /* aligned to MPSC_LINE */
    void *raw;            /* what gs_malloc returned */
};

static size_t round_up(size_t n, size_t align) { return (n + align - 1) / align * align; }

static mpsc_cell_t *cell_at(const mpsc_t *q, size_t pos)
{
    return (mpsc_cell_t *)(q->cells + (pos & q->mask) * q->stride);
}

static void *cell_data(mpsc_cell_t *c)
{
    return (unsigned char *)c + round_up(sizeof(mpsc_cell_t), alignof(max_align_t));
}

int mpsc_init(mpsc_t **out, size_t capacity, size_t elem_size)
{
    *out = NULL;
    /* A single cell cannot tell "holds an element" from "free for the next lap". */
    if (capacity < 2 || (capacity & (capacity - 1)) != 0 || elem_size == 0)
        return -EINVAL;
    size_t header = round_up(sizeof(mpsc_cell_t), alignof(max_align_t));
    if (elem_size > SIZE_MAX / 2 - header)
        return -EINVAL;
    size_t stride = round_up(header + elem_size, alignof(max_align_t));
    size_t head_bytes = round_up(sizeof(mpsc_t), MPSC_LINE);
    if (capacity > (SIZE_MAX - head_bytes - 2 * MPSC_LINE) / stride)
        return -EINVAL;

    /* gs_malloc guarantees only max_align_t, so over-allocate and align by hand (aligned_alloc
     * is missing on MSVC). */
    void *raw = gs_malloc(head_bytes + capacity * stride + MPSC_LINE);
    mpsc_t *q = (mpsc_t *)round_up((size_t)(uintptr_t)raw, MPSC_LINE);
    memset(q, 0, sizeof(*q));
    atomic_init(&q->tail, 0);
    q->head = 0;
    q->mask = capacity - 1;
    q->elem_size = elem_size;
    q->stride = stride;
    q->cells = (unsigned char *)q + head_bytes;
    q->raw = raw;
    for (size_t i = 0; i < capacity; i++)
        atomic_init(&cell_at(q, i)->seq, i);
    *out = q;
    return 0;
}

void mpsc_destroy(mpsc_t *q)
{
    if (q)
        gs_free(q->raw);
}

int mpsc_push(mpsc_t *q, const void *elem)
{
    size_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
    mpsc_cell_t *c;
    for (;;) {
        c = cell_at(q, pos);
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)(seq - pos);
        if (dif == 0) {
            /* On failure pos is reloaded with the current tail. */
            if (atomic_compare_exchange_weak_explicit(&q->tail, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (dif < 0) {
            return -EAGAIN; /* the cell still holds the element of the previous lap */
        } else {
            pos = atomic_load_explicit(&q->tail, memory_order_relaxed); /* lost a race */
        }
    }
    memcpy(cell_data(c), elem, q->elem_size);
    atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
    return 0;
}

bool mpsc_pop(mpsc_t *q, void *out)
{
    size_t pos = q->head;
    mpsc_cell_t *c = cell_at(q, pos);
    size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    if (seq != pos + 1)
        return false;
    memcpy(out, cell_data(c), q->elem_size);
    /* Free the cell for the push one lap ahead. */
    atomic_store_explicit(&c->seq, pos + q->mask + 1, memory_order_release);
    q->head = pos + 1;
    return true;
}

size_t mpsc_capacity(const mpsc_t *q) { return q->mask + 1; }

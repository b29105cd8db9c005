/* pool: fixed-size object pool, grown in chunks, never shrunk while alive.
 * Owns the slabs behind per-worker free lists (send chunks, partial-frame buffers) so nothing is
 * allocated per packet once warm. Single-threaded: each worker owns its pools. */
#ifndef GSKEL_POOL_H
#define GSKEL_POOL_H

#include <stddef.h>

typedef struct pool {
    size_t obj_size;       /* rounded up to pointer alignment */
    size_t objs_per_slab;
    void *free_list;       /* intrusive: the first word of a free object links the next */
    void **slabs;
    size_t slab_count, slab_cap;
    size_t in_use;         /* objects handed out and not yet returned */
} pool_t;

int pool_init(pool_t *p, size_t obj_size, size_t objs_per_slab);
void *pool_get(pool_t *p); /* never NULL: grows by one slab when empty (OOM aborts) */
void pool_put(pool_t *p, void *obj);
size_t pool_capacity(const pool_t *p); /* objects in all slabs */
void pool_destroy(pool_t *p);

#endif

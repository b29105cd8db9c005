#include "pool.h"

#include <errno.h>
#include <stdint.h>

#include "alloc.h"

int pool_init(pool_t *p, size_t obj_size, size_t objs_per_slab)
{
    *p = (pool_t){ 0 };
    if (obj_size == 0 || objs_per_slab == 0)
        return -EINVAL;
    /* Free objects store the free-list link in their first word, so every object must be able
     * to hold an aligned pointer. */
    size_t align = sizeof(void *);
    if (obj_size > SIZE_MAX - align)
        return -EINVAL;
    obj_size = (obj_size + align - 1) / align * align;
    if (objs_per_slab > SIZE_MAX / obj_size)
        return -EINVAL;
    p->obj_size = obj_size;
    p->objs_per_slab = objs_per_slab;
    return 0;
}

static void pool_grow(pool_t *p)
{
    if (p->slab_count == p->slab_cap) {
        size_t cap = p->slab_cap ? p->slab_cap * 2 : 8;
        p->slabs = gs_realloc(p->slabs, cap * sizeof(*p->slabs));
        p->slab_cap = cap;
    }
    unsigned char *slab = gs_malloc(p->obj_size * p->objs_per_slab);
    p->slabs[p->slab_count++] = slab;
    /* Thread back to front so gets walk the slab in address order (cache- and TLB-friendly). */
    for (size_t i = p->objs_per_slab; i-- > 0;) {
        void *obj = slab + i * p->obj_size;
        *(void **)obj = p->free_list;
        p->free_list = obj;
    }
}

void *pool_get(pool_t *p)
{
    if (!p->free_list)
        pool_grow(p);
    void *obj = p->free_list;
    p->free_list = *(void **)obj;
    p->in_use++;
    return obj;
}

void pool_put(pool_t *p, void *obj)
{
    if (!obj)
        return;
    *(void **)obj = p->free_list;
    p->free_list = obj;
    p->in_use--;
}

size_t pool_capacity(const pool_t *p)
{
    return p->slab_count * p->objs_per_slab;
}

void pool_destroy(pool_t *p)
{
    for (size_t i = 0; i < p->slab_count; i++)
        gs_free(p->slabs[i]);
    gs_free(p->slabs);
    *p = (pool_t){ 0 };
}

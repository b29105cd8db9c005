#include "alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef GSKEL_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* Not through log.c: the logger must stay usable by the allocator, never the other way round,
 * and this line must get out even if the heap is what broke. */
static _Noreturn void gs_oom(size_t bytes)
{
    char line[96];
    int n = snprintf(line, sizeof(line), "level=error event=out_of_memory bytes=%zu\n", bytes);
    if (n > 0)
        fwrite(line, 1, (size_t)n, stderr);
    fflush(stderr);
    abort();
}

void *gs_malloc(size_t size)
{
    void *p = malloc(size);
    if (!p && size > 0)
        gs_oom(size);
    return p;
}

void *gs_calloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (!p && count > 0 && size > 0)
        gs_oom(size > SIZE_MAX / count ? SIZE_MAX : count * size);
    return p;
}

/* size 0 frees and returns NULL: realloc(p, 0) is implementation-defined in C11 and undefined in
 * C23, so we pin one meaning. */
void *gs_realloc(void *ptr, size_t size)
{
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (!p)
        gs_oom(size);
    return p;
}

void gs_free(void *ptr)
{
    free(ptr);
}

#ifdef GSKEL_HAVE_JEMALLOC

const char *gs_alloc_name(void)
{
    /* Per thread, so concurrent callers never race on the buffer. */
    static _Thread_local char name[96];
    const char *version = NULL;
    size_t sz = sizeof(version);
    if (mallctl("version", &version, &sz, NULL, 0) != 0 || !version)
        return "jemalloc";
    snprintf(name, sizeof(name), "jemalloc %s", version);
    return name;
}

size_t gs_alloc_allocated_bytes(void)
{
    /* Stats are cached by jemalloc; bumping the epoch refreshes them. */
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    if (mallctl("epoch", &epoch, &sz, &epoch, sz) != 0)
        return 0;
    size_t allocated = 0;
    sz = sizeof(allocated);
    if (mallctl("stats.allocated", &allocated, &sz, NULL, 0) != 0)
        return 0;
    return allocated;
}

#else

const char *gs_alloc_name(void)
{
    return "libc";
}

size_t gs_alloc_allocated_bytes(void)
{
    return 0;
}

#endif

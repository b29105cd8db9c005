/* alloc: the one place memory comes from. jemalloc when built with it (GSKEL_JEMALLOC; it
 * replaces malloc process-wide), libc otherwise (sanitizer builds, Windows).
 * Out of memory is fatal, as in Redis' zmalloc: a game server that cannot allocate a session
 * slot mid-packet has no sane way on, so the wrappers log one line and abort. */
#ifndef GSKEL_ALLOC_H
#define GSKEL_ALLOC_H

#include <stddef.h>

void *gs_malloc(size_t size);
void *gs_calloc(size_t count, size_t size);
void *gs_realloc(void *ptr, size_t size);
void gs_free(void *ptr);

/* "jemalloc 5.3.0-..." or "libc", for the start-up log line. */
const char *gs_alloc_name(void);

/* Bytes the allocator has handed out and still holds (jemalloc stats.allocated after an epoch
 * refresh); 0 where unknown. Used by metrics and memory tests, never on the hot path. */
size_t gs_alloc_allocated_bytes(void);

#endif

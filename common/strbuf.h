/* strbuf: a growable text buffer for building responses (metrics, JSON listings) off the hot
 * path. Appends never fail: memory comes from gs_realloc, which aborts on exhaustion. */
#ifndef GSKEL_STRBUF_H
#define GSKEL_STRBUF_H

#include <stddef.h>

#include "compiler.h"

typedef struct strbuf {
    char *data; /* NUL-terminated once anything was appended */
    size_t len, cap;
} strbuf_t;

void sb_printf(strbuf_t *sb, const char *fmt, ...) GSKEL_PRINTF(2, 3);
void sb_append(strbuf_t *sb, const char *s, size_t n);
/* Appends s as a JSON string literal, quotes included. */
void sb_json_string(strbuf_t *sb, const char *s);
void sb_free(strbuf_t *sb);

#endif

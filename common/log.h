/* log: leveled, timestamped, one-line structured logging (logfmt `key=value`, or JSON).
 * Owns formatting and writing whole lines atomically (one write per line, so lines from several
 * threads never interleave). It decides nothing: callers log once, at the layer that decides. */
#ifndef GSKEL_LOG_H
#define GSKEL_LOG_H

#include <stdbool.h>
#include <stdio.h>

#include "compiler.h"

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;
typedef enum { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON } log_format_t;

/* Process-wide; call before threads start. `out` NULL = stderr. */
void log_configure(log_level_t min_level, log_format_t format, FILE *out);
bool log_enabled(log_level_t level);
/* Any thread, any time (SIGHUP reload). */
void log_set_level(log_level_t min_level);

/* Writes: ts=2026-11-25T06:42:12.123456Z level=info event=EVENT <kv...>
 * `kv_fmt` is printf-style and yields space-separated key=value pairs; a value with spaces or
 * quotes must be written as key="..." (see log_quote). In JSON format the pairs become members,
 * numbers stay numbers. */
void log_emit(log_level_t level, const char *event, const char *kv_fmt, ...)
    GSKEL_PRINTF(3, 4);

/* Escapes s into buf as a logfmt quoted value (with the quotes); returns buf. */
const char *log_quote(char *buf, size_t cap, const char *s);

#define log_debug(ev, ...) do { if (log_enabled(LOG_DEBUG)) log_emit(LOG_DEBUG, ev, __VA_ARGS__); } while (0)
#define log_info(ev, ...) log_emit(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_emit(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_emit(LOG_ERROR, ev, __VA_ARGS__)

#endif

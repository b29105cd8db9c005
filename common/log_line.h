/* log_line: private to log.c. Turns a logfmt kv string into one finished log line (logfmt or
 * JSON), cut at a pair boundary when it does not fit. Pure string work: no I/O, no allocation. */
#ifndef GSKEL_LOG_LINE_H
#define GSKEL_LOG_LINE_H

#include <stdbool.h>
#include <stddef.h>

/* One line, newline included; longer kv strings are cut and marked truncated=true. */
#define LOG_LINE_MAX 2048u

/* Writes the line into out (cap >= 1024) and returns its length (no NUL). kv_cut: kv was cut by
 * its own buffer, so its last pair is incomplete and dropped. */
size_t log_line_build(char *out, size_t cap, bool json, const char *ts, const char *level,
                      const char *event, const char *kv, bool kv_cut);

/* The escape for byte c, shared by logfmt quoting and JSON (the two agree on these): \" \\ \n
 * \r \t, \u00XX for other control bytes. Returns its length, 0 when c needs none. */
size_t log_escape_char(unsigned char c, char e[7]);

#endif

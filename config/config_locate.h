/* config_locate: private to config/. Maps positions back to the source text, because cJSON keeps
 * none: a byte offset to line and column, and a member of the parsed tree to the line of its key.
 * It only reads the text; it never parses values and never allocates. */
#ifndef GSKEL_CONFIG_LOCATE_H
#define GSKEL_CONFIG_LOCATE_H

#include <stddef.h>

/* 1-based line and column (in bytes) of byte offset `off`; offsets past the end mean the end. */
void cfg_locate_offset(const char *text, size_t len, size_t off, size_t *line, size_t *col);

/* The offset a syntax error really is at, given the one cJSON reported (its return_parse_end).
 * cJSON reports a string that fails, or a non-string where an object key belongs, one byte late;
 * every other offset is returned as given (clamped to len). */
size_t cfg_locate_syntax_error(const char *text, size_t len, size_t off);

/* Line of the key of the member reached by `idx`: idx[0] is the member's index in the top-level
 * object, idx[1] its index in that member's object, and so on, `depth` levels. Indices, not
 * names, so duplicate and escaped keys resolve exactly as cJSON saw them. depth 0 gives the line
 * of the top-level value. If the path cannot be followed, the line of the deepest key found. */
size_t cfg_locate_key_line(const char *text, size_t len, const size_t *idx, size_t depth);

/* Line of item `item` (0-based) of the array that is the value of the member reached by idx/depth
 * (as cfg_locate_key_line), for errors in one element of a list. The key's line if the value is
 * not an array or has fewer items. */
size_t cfg_locate_item_line(const char *text, size_t len, const size_t *idx, size_t depth, size_t item);

#endif

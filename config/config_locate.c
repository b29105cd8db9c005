/* config_locate: finds lines in config source text for error messages (see config_locate.h).
 * The key scanner runs only on text cJSON has already accepted, so it can be a small lexer that
 * tracks strings and nesting; it is iterative so deep nesting cannot exhaust the stack. */
#include "config_locate.h"

#include <stdbool.h>
#include <string.h>

#define CFG_LEX_DEPTH_MAX 1024 /* above cJSON's nesting limit of 1000 */

void cfg_locate_offset(const char *text, size_t len, size_t off, size_t *line, size_t *col)
{
    size_t ln = 1, line_start = 0;

    if (off > len)
        off = len;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            ln++;
            line_start = i + 1;
        }
    }
    *line = ln;
    *col = off - line_start + 1;
}

/* Same whitespace rule as cJSON (any byte <= 0x20), so both agree on where tokens start. */
static bool cfg_is_space(char ch)
{
    return (unsigned char)ch <= ' ';
}

/* The lexical state just before text[p]: whether it lies inside a string, and the innermost open
 * container ('{', '[', or 0 at the top or when nesting is too deep to track). */
static void cfg_lex_state(const char *text, size_t p, bool *in_string, char *container)
{
    char stack[CFG_LEX_DEPTH_MAX];
    size_t depth = 0, i = 0;

    *in_string = false;
    for (; i < p; i++) {
        char ch = text[i];

        if (*in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                *in_string = false;
        } else if (ch == '"') {
            *in_string = true;
        } else if (ch == '{' || ch == '[') {
            if (depth < CFG_LEX_DEPTH_MAX)
                stack[depth] = ch;
            depth++;
        } else if ((ch == '}' || ch == ']') && depth > 0) {
            depth--;
        }
    }
    /* an escape as the last byte before p skipped p itself: p is still inside the string */
    if (i > p)
        *in_string = true;
    *container = depth > 0 && depth <= CFG_LEX_DEPTH_MAX ? stack[depth - 1] : 0;
}

size_t cfg_locate_syntax_error(const char *text, size_t len, size_t off)
{
    size_t p, q;
    bool in_string;
    char container;

    if (off > len)
        off = len;
    if (off == 0)
        return 0;
    p = off - 1;
    if (cfg_is_space(text[p]))
        return off;
    cfg_lex_state(text, p, &in_string, &container);
    if (in_string)
        return off;
    if (text[p] == '"')
        return p; /* a string that failed: cJSON points just inside its opening quote */
    for (q = p; q > 0 && cfg_is_space(text[q - 1]); q--)
        ;
    /* where a key should start but something else is, cJSON points one byte past it */
    if (q > 0 && container == '{' && (text[q - 1] == '{' || text[q - 1] == ','))
        return p;
    return off;
}

/* cfg_locate_key_line, and in *after (when not NULL) the offset just past the key's closing quote,
 * or len if the key was not found. */
static size_t cfg_locate_key(const char *text, size_t len, const size_t *idx, size_t depth, size_t *after)
{
    size_t i = 0, line = 1, fallback = 1;
    size_t level = 0;   /* containers currently open */
    size_t matched = 0; /* idx entries matched so far: the object searched is at level matched+1 */
    size_t member = 0;  /* members of the searched object passed so far */
    bool expect_key = false;
    bool entering = true; /* the next token must open the object to search */

    if (after != NULL)
        *after = len;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (; i < len; i++) {
        char ch = text[i];

        if (ch == '\n') {
            line++;
            continue;
        }
        if (cfg_is_space(ch))
            continue;
        if (depth == 0)
            return line;
        if (entering && ch != ':' && ch != '{')
            return fallback; /* the value on the path is not an object */
        if (ch == '"') {
            size_t key_line = line;
            bool is_key = level == matched + 1 && expect_key;

            for (i++; i < len && text[i] != '"'; i++) {
                if (text[i] == '\\' && i + 1 < len)
                    i++;
                if (text[i] == '\n')
                    line++;
            }
            if (!is_key)
                continue;
            expect_key = false;
            if (member++ != idx[matched])
                continue;
            if (matched + 1 == depth) {
                if (after != NULL)
                    *after = i + 1;
                return key_line;
            }
            fallback = key_line;
            matched++;
            member = 0;
            entering = true;
        } else if (ch == '{' || ch == '[') {
            level++;
            if (entering) {
                entering = false;
                expect_key = true;
            }
        } else if (ch == '}' || ch == ']') {
            if (level == matched + 1)
                return fallback; /* the searched object ended first */
            if (level > 0)
                level--;
        } else if (ch == ',' && level == matched + 1) {
            expect_key = true;
        }
    }
    return fallback;
}

size_t cfg_locate_key_line(const char *text, size_t len, const size_t *idx, size_t depth)
{
    return cfg_locate_key(text, len, idx, depth, NULL);
}

size_t cfg_locate_item_line(const char *text, size_t len, const size_t *idx, size_t depth, size_t item)
{
    size_t i, n = 0, level = 0;
    size_t key_line = cfg_locate_key(text, len, idx, depth, &i), line = key_line;
    bool in_string = false;

    for (; i < len; i++) {
        char ch = text[i];

        if (ch == '\n')
            line++;
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = false;
            continue;
        }
        if (cfg_is_space(ch) || (level == 0 && ch == ':'))
            continue;
        if (level == 1 && n == item && ch != ',' && ch != ']')
            return line; /* the first byte of the item */
        if (ch == '"') {
            in_string = true;
        } else if (ch == '[' || ch == '{') {
            if (level == 0 && ch != '[')
                return key_line; /* the value is not an array */
            level++;
        } else if (ch == ']' || ch == '}') {
            if (level <= 1)
                break;
            level--;
        } else if (ch == ',' && level == 1) {
            n++;
        } else if (level == 0) {
            break; /* a scalar value: there are no items */
        }
    }
    return key_line;
}

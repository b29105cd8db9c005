/* utf8: checks that text from the outside is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF): chat a client asks the server to relay to other players,
 * the display name in a login ticket. One client cannot hand every other client bytes that their
 * text code may choke on. Checks only. */
#ifndef GSKEL_UTF8_H
#define GSKEL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool utf8_valid(const uint8_t *s, size_t n);

#endif

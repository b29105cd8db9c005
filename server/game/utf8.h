/* utf8: checks that text a client asks the server to relay to other players is well-formed
 * UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), so one client
 * cannot hand every other client bytes that their text code may choke on. Checks only. */
#ifndef GSKEL_GAME_UTF8_H
#define GSKEL_GAME_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool utf8_valid(const uint8_t *s, size_t n);

#endif

/* dispatch: the op -> handler table and the skeleton's own ops (ECHO, PING, LOGIN, LOGOUT),
 * which run inline on the worker. A frame whose op has no handler is a protocol violation
 * (bad_opcode); one sent in a state its handler does not allow is bad_state. Game ops register
 * here too (0x0100 and up) before the workers start; the table is read-only after that. */
#ifndef GSKEL_DISPATCH_H
#define GSKEL_DISPATCH_H

#include <stdint.h>

#include "frame.h"
#include "session.h"

struct worker;

/* Skeleton ops: shared/DESIGN.md, "Wire protocol". */
enum {
    OP_ECHO = 0x0001,
    OP_PING = 0x0002,
    OP_PONG = 0x0003,
    OP_LOGIN = 0x0010,
    OP_LOGIN_OK = 0x0011,
    OP_LOGOUT = 0x0012,
    OP_LOGOUT_OK = 0x0013,
    OP_KICK = 0x0020,
    OP_GAME_FIRST = 0x0100,
};

/* Ops the table can hold; anything above is bad_opcode. */
#define DISPATCH_MAX_OPS 0x1000u

/* Returns 0 to go on with the next frame, non-zero when the session is closing. */
typedef int (*dispatch_fn)(struct worker *w, session_t *s, const frame_t *f);

typedef enum {
    DISPATCH_ANY_STATE,    /* OPEN or LOGGED_IN */
    DISPATCH_LOGGED_IN,    /* game ops: LOGIN first */
} dispatch_gate_t;

int dispatch_register(uint16_t op, const char *name, dispatch_gate_t gate, dispatch_fn fn);
int dispatch_frame(struct worker *w, session_t *s, const frame_t *f);

/* Longest LOGIN name accepted, bytes. */
#define LOGIN_NAME_MAX 32u
/* Longest KICK text sent, bytes: a notice for people, not a payload. */
#define KICK_TEXT_MAX 200u

#endif

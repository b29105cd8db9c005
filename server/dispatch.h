/* dispatch: the op -> handler table and the skeleton's own ops (ECHO, PING, LOGIN, LOGOUT),
 * which run inline on the worker. A frame whose op has no handler is a protocol violation
 * (bad_opcode); one sent in a state its handler does not allow is bad_state. Game ops are
 * registered here by the server before the workers start (forwarded to the game link); the table
 * is read-only after that. Above the session layer, below the worker: it knows neither. */
#ifndef GSKEL_DISPATCH_H
#define GSKEL_DISPATCH_H

#include <stdint.h>

#include "frame.h"
#include "game_link.h"
#include "protocol.h"
#include "session.h"

/* What a handler works with: the worker's sessions, and its lane to the game (NULL: no game). */
typedef struct dispatch_env {
    session_env_t *sessions;
    game_link_t *game;
    uint32_t lane;
} dispatch_env_t;

/* Returns 0 to go on with the next frame, non-zero when the session is closing. */
typedef int (*dispatch_fn)(dispatch_env_t *d, session_t *s, const frame_t *f);

typedef enum {
    DISPATCH_ANY_STATE,    /* OPEN or LOGGED_IN */
    DISPATCH_LOGGED_IN,    /* game ops: LOGIN first */
} dispatch_gate_t;

/* -ERANGE outside OP_GAME_FIRST..PROTO_OP_LIMIT-1, -EEXIST if taken. */
int dispatch_register(uint16_t op, dispatch_gate_t gate, dispatch_fn fn);
int dispatch_frame(dispatch_env_t *d, session_t *s, const frame_t *f);
/* The handler of every game op: the frame goes to the logic thread. */
int dispatch_to_game(dispatch_env_t *d, session_t *s, const frame_t *f);

#endif

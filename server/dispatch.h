/* dispatch: the op -> handler table and the skeleton's own ops (ECHO, PING, LOGIN, LOGOUT, RESUME, ACK),
 * which run inline on the worker. A frame whose op has no handler is a protocol violation
 * (bad_opcode); one sent in a state its handler does not allow is bad_state. Game ops are
 * registered here by the server before the workers start (forwarded to the game link); the table
 * is read-only after that. Above the session layer, below the worker: it knows neither. */
#ifndef GSKEL_DISPATCH_H
#define GSKEL_DISPATCH_H

#include <stdint.h>

#include "auth.h"
#include "cluster.h"
#include "frame.h"
#include "game_link.h"
#include "protocol.h"
#include "session.h"

/* What the handlers need of their owner (the worker), which alone reaches other workers. */
typedef struct dispatch_hooks {
    /* The account's older session (any worker's) is to be told logged_in_elsewhere and go. */
    void (*evict)(void *ctx, uint32_t session_id);
    /* The carrier (an OPEN session that sent RESUME) hands its socket to the resumed session's
     * owner, which answers on it; the carrier is closing when this returns. */
    void (*resume)(void *ctx, session_t *carrier, uint32_t session_id, const uint8_t *token, uint64_t received);
} dispatch_hooks_t;

/* What a handler works with: the worker's sessions, its lane to the game (NULL: no game), the
 * logins' checker and directory, and its owner's hooks. */
typedef struct dispatch_env {
    session_env_t *sessions;
    game_link_t *game;
    uint32_t lane;
    auth_t *auth;
    cluster_t *cluster;  /* the other instances (NULL: none) */
    const dispatch_hooks_t *hooks;
    void *hooks_ctx;
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

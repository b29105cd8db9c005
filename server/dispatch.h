/* dispatch: the op -> handler table and the skeleton's own ops (ECHO, PING, LOGIN, LOGOUT),
 * which run inline on the worker. A frame whose op has no handler is a protocol violation
 * (bad_opcode); one sent in a state its handler does not allow is bad_state. Game ops register
 * here too (0x0100 and up) before the workers start; the table is read-only after that. */
#ifndef GSKEL_DISPATCH_H
#define GSKEL_DISPATCH_H

#include <stdint.h>

#include "frame.h"
#include "protocol.h"
#include "session.h"

struct worker;


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


#endif

/* session_set: the sessions that asked a game module for something (the counter's subscribers,
 * the shout listeners), as a dense array for sending to all and an index by slot for O(1) add
 * and remove. Logic thread only. */
#ifndef GSKEL_SESSION_SET_H
#define GSKEL_SESSION_SET_H

#include <stdint.h>

typedef struct session_set {
    uint32_t slots;  /* session.max_sessions */
    uint32_t *ids;   /* the members' session ids, in no order */
    uint32_t count;
    uint32_t *where; /* by slot: 1 + the index of that session in ids, or 0 */
} session_set_t;

void session_set_init(session_set_t *s, uint32_t slots);
void session_set_destroy(session_set_t *s);
/* Adds session (an earlier session of its slot, whose leave was lost, gives it its place). */
void session_set_add(session_set_t *s, uint32_t session);
/* Removes session if it is a member. */
void session_set_remove(session_set_t *s, uint32_t session);

#endif

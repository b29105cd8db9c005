/* A set of sessions for a game module: see session_set.h. */
#include "session_set.h"

#include "alloc.h"

/* Session ids are generation << 24 | slot (docs/protocol.md); no two live sessions share a slot. */
#define SLOT_OF(id) ((id) & 0xFFFFFFu)

void session_set_init(session_set_t *s, uint32_t slots) {
    s->slots = slots;
    s->count = 0;
    s->ids = gs_calloc(slots, sizeof *s->ids);
    s->where = gs_calloc(slots, sizeof *s->where);
}

void session_set_destroy(session_set_t *s) {
    gs_free(s->ids);
    gs_free(s->where);
    s->ids = s->where = NULL;
    s->count = 0;
}

void session_set_add(session_set_t *s, uint32_t session) {
    uint32_t slot = SLOT_OF(session);
    if (slot >= s->slots) return;
    uint32_t at = s->where[slot];
    if (at && s->ids[at - 1] == session) return;
    if (at) {
        s->ids[at - 1] = session;
        return;
    }
    s->ids[s->count++] = session;
    s->where[slot] = s->count;
}

void session_set_remove(session_set_t *s, uint32_t session) {
    uint32_t slot = SLOT_OF(session);
    if (slot >= s->slots) return;
    uint32_t at = s->where[slot];
    if (!at || s->ids[at - 1] != session) return;
    uint32_t last = s->ids[--s->count];
    s->ids[at - 1] = last;
    s->where[SLOT_OF(last)] = at;
    s->where[slot] = 0;
}

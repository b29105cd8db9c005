/* counter: the worked example of docs/forking.md, section 8. One server-wide counter: INCR adds
 * one and answers COUNTER with the new value; every game.counter_broadcast_ticks ticks the value
 * goes to every session that has sent INCR, and to no one else (nobody gets frames unasked).
 * Wire formats: docs/protocol.md, "Game ops". */
#include "alloc.h"
#include "bytes.h"
#include "config.h"
#include "game_api.h"

enum { OP_INCR = 0x0110, OP_COUNTER = 0x0111 };

/* Session ids are generation << 24 | slot (docs/protocol.md); no two live sessions share a slot. */
#define SLOT_OF(id) ((id) & 0xFFFFFFu)

typedef struct counter {
    uint64_t value;
    uint32_t every; /* game.counter_broadcast_ticks */
    uint32_t slots; /* session.max_sessions */
    uint32_t *ids;  /* the subscribers' session ids, in no order */
    uint32_t count;
    uint32_t *where; /* by slot: 1 + the index of that session in ids, or 0 */
} counter_t;

static void send_value(game_t *g, const counter_t *c, uint32_t session) {
    uint8_t *p = game_send_reserve(g, session, OP_COUNTER, 8);
    if (!p) return; /* the worker's ring is full this tick: counted, and the next value supersedes it */
    le_put_u64(p, c->value);
    game_send_commit(g);
}

static void subscribe(counter_t *c, uint32_t session) {
    uint32_t slot = SLOT_OF(session);
    if (slot >= c->slots) return;
    uint32_t at = c->where[slot];
    if (at && c->ids[at - 1] == session) return;
    if (at) {
        /* An earlier session of this slot whose leave was lost: it takes its place. */
        c->ids[at - 1] = session;
        return;
    }
    c->ids[c->count++] = session;
    c->where[slot] = c->count;
}

static void counter_leave(game_t *g, void *state, uint32_t session) {
    (void)g;
    counter_t *c = state;
    uint32_t slot = SLOT_OF(session);
    if (slot >= c->slots) return;
    uint32_t at = c->where[slot];
    if (!at || c->ids[at - 1] != session) return; /* never asked */
    uint32_t last = c->ids[--c->count];
    c->ids[at - 1] = last;
    c->where[SLOT_OF(last)] = at;
    c->where[slot] = 0;
}

static void on_incr(game_t *g, void *state, uint32_t session, const uint8_t *payload, uint16_t len) {
    (void)payload;
    counter_t *c = state;
    if (len != 0) {
        game_abort(g, session, REASON_BAD_PAYLOAD);
        return;
    }
    c->value++;
    subscribe(c, session);
    send_value(g, c, session);
}

static void counter_tick(game_t *g, void *state, uint64_t tick) {
    counter_t *c = state;
    if (tick % c->every != c->every - 1) return;
    for (uint32_t i = 0; i < c->count; i++) send_value(g, c, c->ids[i]);
}

static void counter_destroy(void *state) {
    counter_t *c = state;
    gs_free(c->ids);
    gs_free(c->where);
    gs_free(c);
}

static int counter_init(game_t *g, void **state) {
    const cfg_t *cfg = game_config(g);
    counter_t *c = gs_calloc(1, sizeof *c);
    c->every = cfg->game.counter_broadcast_ticks;
    c->slots = cfg->session.max_sessions;
    c->ids = gs_calloc(c->slots, sizeof *c->ids);
    c->where = gs_calloc(c->slots, sizeof *c->where);
    int rc = game_register_op(g, OP_INCR, "incr", on_incr, c);
    if (rc < 0) {
        counter_destroy(c);
        return rc;
    }
    *state = c;
    return 0;
}

const game_module_t counter_module = {
    .name = "counter",
    .init = counter_init,
    .on_leave = counter_leave,
    .on_tick = counter_tick,
    .destroy = counter_destroy,
};

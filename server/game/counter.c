/* counter: the worked example of docs/forking.md, section 8. One server-wide counter: INCR adds
 * one and answers COUNTER with the new value; every game.counter_broadcast_ticks ticks the value
 * goes to every session that has sent INCR, and to no one else (nobody gets frames unasked).
 * Wire formats: docs/protocol.md, "Game ops". */
#include "alloc.h"
#include "bytes.h"
#include "config.h"
#include "game_api.h"
#include "session_set.h"

enum { OP_INCR = 0x0110, OP_COUNTER = 0x0111 };

typedef struct counter {
    uint64_t value;
    uint32_t every;            /* game.counter_broadcast_ticks */
    session_set_t subscribers; /* sessions that sent INCR */
} counter_t;

static void send_value(game_t *g, const counter_t *c, uint32_t session) {
    uint8_t *p = game_send_reserve(g, session, OP_COUNTER, 8);
    if (!p) return; /* the worker's ring is full this tick: counted, and the next value supersedes it */
    le_put_u64(p, c->value);
    game_send_commit(g);
}

static void counter_leave(game_t *g, void *state, uint32_t session) {
    (void)g;
    session_set_remove(&((counter_t *)state)->subscribers, session);
}

static void on_incr(game_t *g, void *state, uint32_t session, const uint8_t *payload, uint16_t len) {
    (void)payload;
    counter_t *c = state;
    if (len != 0) {
        game_abort(g, session, REASON_BAD_PAYLOAD);
        return;
    }
    c->value++;
    session_set_add(&c->subscribers, session);
    send_value(g, c, session);
}

static void counter_tick(game_t *g, void *state, uint64_t tick) {
    counter_t *c = state;
    if (tick % c->every != c->every - 1) return;
    for (uint32_t i = 0; i < c->subscribers.count; i++) send_value(g, c, c->subscribers.ids[i]);
}

static void counter_destroy(void *state) {
    counter_t *c = state;
    session_set_destroy(&c->subscribers);
    gs_free(c);
}

static int counter_init(game_t *g, void **state) {
    const cfg_t *cfg = game_config(g);
    counter_t *c = gs_calloc(1, sizeof *c);
    c->every = cfg->game.counter_broadcast_ticks;
    session_set_init(&c->subscribers, cfg->session.max_sessions);
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

/* The rings between the workers and the logic thread: see game_link.h. */
#include "game_link.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "spsc.h"

typedef struct lane {
    spsc_t in;            /* the worker produces, the logic thread consumes */
    spsc_t out;           /* the logic thread produces, the worker consumes */
    stat_t dropped_in;    /* written by the lane's worker */
    uint8_t touched;      /* logic thread: committed records not yet published */
    void (*wake)(void *ctx);
    void *wake_ctx;
} lane_t;

struct game_link {
    session_split_t split;
    lane_t *lanes;
    spsc_t *open;         /* the ring with a reservation open (game_link_reserve) */
    lane_t *open_lane;
    stat_t dropped_out;   /* written by the logic thread */
};

int game_link_create(game_link_t **out, const session_split_t *split, size_t inbound_bytes, size_t outbound_bytes) {
    game_link_t *l = gs_calloc(1, sizeof *l);
    l->split = *split;
    l->lanes = gs_calloc(split->owners, sizeof *l->lanes);
    for (uint32_t i = 0; i < split->owners; i++) {
        if (spsc_init(&l->lanes[i].in, inbound_bytes) < 0 || spsc_init(&l->lanes[i].out, outbound_bytes) < 0) {
            game_link_destroy(l);
            return -EINVAL;
        }
    }
    *out = l;
    return 0;
}

void game_link_destroy(game_link_t *l) {
    if (!l) return;
    for (uint32_t i = 0; i < l->split.owners; i++) {
        spsc_destroy(&l->lanes[i].in);
        spsc_destroy(&l->lanes[i].out);
    }
    gs_free(l->lanes);
    gs_free(l);
}

void game_link_set_waker(game_link_t *l, uint32_t lane, void (*wake)(void *ctx), void *ctx) {
    l->lanes[lane].wake = wake;
    l->lanes[lane].wake_ctx = ctx;
}

uint32_t game_link_lanes(const game_link_t *l) { return l->split.owners; }

void game_link_stats_read(const game_link_t *l, uint64_t *dropped_in, uint64_t *dropped_out) {
    uint64_t in = 0;
    for (uint32_t i = 0; i < l->split.owners; i++) in += stat_read(&l->lanes[i].dropped_in);
    *dropped_in = in;
    *dropped_out = stat_read(&l->dropped_out);
}

int game_link_post(game_link_t *l, uint32_t lane, uint32_t session, game_in_kind_t kind, uint16_t op,
                   const void *data, uint16_t len) {
    lane_t *ln = &l->lanes[lane];
    size_t n = sizeof(game_record_t) + len;
    game_record_t *r = NULL;
    /* A frame leaves the headroom to JOIN and LEAVE; a full ring means the logic thread is behind
     * by a whole ring: the server is overloaded, and dropping the frame is counted and visible
     * where stalling the worker would stall every session. */
    if (kind != GAME_IN_FRAME || spsc_free(&ln->in) >= GAME_LINK_EVENT_HEADROOM + spsc_record_bytes(n))
        r = spsc_reserve(&ln->in, n);
    if (!r) {
        stat_add(&ln->dropped_in, 1);
        return -ENOBUFS;
    }
    *r = (game_record_t){ .session = session, .kind = (uint16_t)kind, .op = op, .len = len };
    if (len) memcpy(r->data, data, len);
    spsc_commit(&ln->in);
    spsc_publish(&ln->in);
    return 0;
}

static void drain_ring(spsc_t *ring, game_record_fn fn, void *ctx) {
    size_t n;
    const game_record_t *r;
    while ((r = spsc_peek(ring, &n))) {
        fn(ctx, r);
        spsc_release(ring);
    }
}

void game_link_drain(game_link_t *l, uint32_t lane, game_record_fn fn, void *ctx) { drain_ring(&l->lanes[lane].out, fn, ctx); }

void game_link_take_inbound(game_link_t *l, game_record_fn fn, void *ctx) {
    for (uint32_t i = 0; i < l->split.owners; i++) drain_ring(&l->lanes[i].in, fn, ctx);
}

game_record_t *game_link_reserve(game_link_t *l, uint32_t session, game_out_kind_t kind, uint16_t op, uint16_t len) {
    uint32_t lane = session_split_owner(&l->split, session);
    game_record_t *r = lane == UINT32_MAX ? NULL : spsc_reserve(&l->lanes[lane].out, sizeof *r + len);
    if (!r) {
        stat_add(&l->dropped_out, 1);
        return NULL;
    }
    *r = (game_record_t){ .session = session, .kind = (uint16_t)kind, .op = op, .len = len };
    l->open = &l->lanes[lane].out;
    l->open_lane = &l->lanes[lane];
    return r;
}

void game_link_commit(game_link_t *l) {
    if (!l->open) return;
    spsc_commit(l->open);
    l->open_lane->touched = 1;
    l->open = NULL;
}

void game_link_publish(game_link_t *l) {
    for (uint32_t i = 0; i < l->split.owners; i++) {
        lane_t *ln = &l->lanes[i];
        if (!ln->touched) continue;
        ln->touched = 0;
        spsc_publish(&ln->out);
        if (ln->wake) ln->wake(ln->wake_ctx);
    }
}

/* zone: the sample game, and the tour of game_api.h. One square world; every logged-in player
 * is in it, walks (MOVE, checked against a top speed), talks to everyone (CHAT) and, every tick,
 * is told who is near it (SNAPSHOT, through the area-of-interest grid of grid.h). Off unless
 * game.zone_enabled. A fork replaces this file (docs/forking.md); wire formats are in
 * docs/protocol.md, "Game ops". */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "alloc.h"
#include "bytes.h"
#include "config.h"
#include "game_api.h"
#include "grid.h"
#include "log.h"
#include "utf8.h"

enum { OP_MOVE = 0x0100, OP_CHAT = 0x0101, OP_CHAT_MSG = 0x0102, OP_SNAPSHOT = 0x0103 };

#define FRAME_HEADER 4u
#define CHAT_TEXT_MAX 200u                       /* CHAT carries 1..200 bytes of text */
#define CHAT_MSG_MAX (FRAME_HEADER + 5u + CHAT_TEXT_MAX) /* u32 from, u8 n, text */
#define SNAPSHOT_HEAD 6u                         /* u32 tick, u16 count */
#define SNAPSHOT_ENTRY 12u                       /* u32 id, i32 x, i32 y */
/* Session ids are generation << 24 | slot (docs/protocol.md); no two live sessions share a slot. */
#define SLOT_OF(id) ((id) & 0xFFFFFFu)

typedef struct player {
    uint32_t id;
    int32_t x, y;
    uint32_t live_index;  /* where its slot sits in zone.live */
    double move_clock_ms; /* movement is paid for up to this time: see on_move */
    bool present;
} player_t;

typedef struct zone {
    player_t *players; /* by slot: session.max_sessions of them */
    uint32_t slots;
    uint32_t *live; /* the slots of the players in the zone, in no order */
    uint32_t live_count;
    uint32_t *near; /* one snapshot's entries: reused for every player, every tick */
    uint32_t near_cap;
    grid_t grid;
    int32_t world_size, aoi_radius;
    double max_speed_per_ms;
    uint32_t move_lag_ms;
} zone_t;

static player_t *player_of(zone_t *z, uint32_t session) {
    uint32_t slot = SLOT_OF(session);
    if (slot >= z->slots) return NULL;
    player_t *p = &z->players[slot];
    return p->present && p->id == session ? p : NULL;
}

static void remove_player(zone_t *z, player_t *p) {
    uint32_t last = z->live[--z->live_count];
    z->live[p->live_index] = last;
    z->players[last].live_index = p->live_index;
    p->present = false;
}

/* RST, and out of the zone at once: its frames still on their way are ignored, and nobody sees
 * it again, though its session ends (and on_leave comes) only later. */
static void throw_out(game_t *g, zone_t *z, uint32_t session, reason_t why) {
    player_t *p = player_of(z, session);
    if (p) remove_player(z, p);
    game_abort(g, session, why);
}

/* splitmix64: the spawn point is a function of the session id alone. */
static uint64_t mix64(uint64_t v) {
    v += 0x9E3779B97F4A7C15ull;
    v = (v ^ (v >> 30)) * 0xBF58476D1CE4E5B9ull;
    v = (v ^ (v >> 27)) * 0x94D049BB133111EBull;
    return v ^ (v >> 31);
}

static void zone_join(game_t *g, void *state, uint32_t session, const char *name, size_t name_len) {
    (void)name, (void)name_len;
    zone_t *z = state;
    if (!z || SLOT_OF(session) >= z->slots) return;
    player_t *p = &z->players[SLOT_OF(session)];
    /* Still held by the slot's previous session: its leave was lost to a full ring. */
    if (p->present) remove_player(z, p);
    uint64_t h = mix64(session);
    *p = (player_t){ .id = session,
                     .x = (int32_t)(h % (uint32_t)z->world_size),
                     .y = (int32_t)((h >> 32) % (uint32_t)z->world_size),
                     .live_index = z->live_count,
                     .move_clock_ms = (double)game_now_ms(g),
                     .present = true };
    z->live[z->live_count++] = SLOT_OF(session);
    /* Who entered, as the game API tells it: the account of its ticket and its display name. */
    if (log_enabled(LOG_DEBUG)) {
        size_t len;
        const char *who = game_session_name(g, session, &len);
        char quoted[2 * 32 + 8];
        log_debug("zone_enter", "session=%u account=%llu name=%s", session,
                  (unsigned long long)game_session_account(g, session), log_quote(quoted, sizeof quoted, who ? who : ""));
    }
}

static void zone_leave(game_t *g, void *state, uint32_t session) {
    (void)g;
    zone_t *z = state;
    player_t *p = z ? player_of(z, session) : NULL;
    if (p) remove_player(z, p);
}

static void on_move(game_t *g, void *state, uint32_t session, const uint8_t *payload, uint16_t len) {
    zone_t *z = state;
    if (len != 8) {
        throw_out(g, z, session, REASON_BAD_PAYLOAD);
        return;
    }
    player_t *p = player_of(z, session);
    if (!p) return; /* thrown out earlier this tick, or its join was lost to a full ring */
    int32_t x = (int32_t)le_get_u32(payload), y = (int32_t)le_get_u32(payload + 4);
    if (x < 0 || y < 0 || x >= z->world_size || y >= z->world_size) {
        throw_out(g, z, session, REASON_CHEAT);
        return;
    }
    /* Movement is paid for in time: a step of d units costs d / max_speed. Time left unused
     * carries over for at most move_lag_ms (moves held up by the network arrive in a burst), and
     * the clock may run one tick ahead of now (a move sent just before a tick boundary is handled
     * after it). Moves handled in one tick share its time, so sending many cannot add up. */
    double dx = (double)x - p->x, dy = (double)y - p->y;
    double now = (double)game_now_ms(g);
    double start = fmax(p->move_clock_ms, now - z->move_lag_ms);
    double clock = start + sqrt(dx * dx + dy * dy) / z->max_speed_per_ms;
    if (clock > now + game_tick_ms(g)) {
        throw_out(g, z, session, REASON_CHEAT);
        return;
    }
    p->x = x;
    p->y = y;
    p->move_clock_ms = clock;
}

static void on_chat(game_t *g, void *state, uint32_t session, const uint8_t *payload, uint16_t len) {
    zone_t *z = state;
    uint8_t n = len ? payload[0] : 0;
    if (len < 2 || n != len - 1u || n > CHAT_TEXT_MAX || !utf8_valid(payload + 1, n)) {
        throw_out(g, z, session, REASON_BAD_PAYLOAD);
        return;
    }
    if (!player_of(z, session)) return;
    for (uint32_t i = 0; i < z->live_count; i++) {
        uint8_t *b = game_send_reserve(g, z->players[z->live[i]].id, OP_CHAT_MSG, (uint16_t)(5u + n));
        if (!b) continue; /* that worker's ring is full this tick: counted by the skeleton */
        le_put_u32(b, session);
        b[4] = n;
        memcpy(b + 5, payload + 1, n);
        game_send_commit(g);
    }
}

/* Fills z->near: the player itself first, then whoever is within aoi_radius, its own cell first,
 * until near_cap. Past the cap the rest are left out, in no particular order. */
static uint32_t gather_near(zone_t *z, const player_t *p) {
    uint32_t self = SLOT_OF(p->id), n = 0, buckets[GRID_AROUND];
    int64_t r2 = (int64_t)z->aoi_radius * z->aoi_radius;
    z->near[n++] = self;
    uint32_t nb = grid_around(&z->grid, p->x, p->y, buckets);
    for (uint32_t b = 0; b < nb; b++) {
        for (uint32_t s = grid_first(&z->grid, buckets[b]); s != GRID_NONE; s = grid_next(&z->grid, s)) {
            const player_t *q = &z->players[s];
            int64_t dx = (int64_t)q->x - p->x, dy = (int64_t)q->y - p->y;
            if (s == self || dx * dx + dy * dy > r2) continue;
            if (n == z->near_cap) return n;
            z->near[n++] = s;
        }
    }
    return n;
}

static void send_snapshot(game_t *g, zone_t *z, const player_t *p, uint32_t tick) {
    uint32_t n = gather_near(z, p);
    uint8_t *b = game_send_reserve(g, p->id, OP_SNAPSHOT, (uint16_t)(SNAPSHOT_HEAD + n * SNAPSHOT_ENTRY));
    if (!b) return; /* ring full this tick (counted): the next snapshot supersedes this one anyway */
    le_put_u32(b, tick);
    le_put_u16(b + 4, (uint16_t)n);
    for (uint32_t k = 0; k < n; k++) {
        const player_t *q = &z->players[z->near[k]];
        uint8_t *e = b + SNAPSHOT_HEAD + k * SNAPSHOT_ENTRY;
        le_put_u32(e, q->id);
        le_put_u32(e + 4, (uint32_t)q->x);
        le_put_u32(e + 8, (uint32_t)q->y);
    }
    game_send_commit(g);
}

static void zone_tick(game_t *g, void *state, uint64_t tick) {
    zone_t *z = state;
    if (!z) return;
    grid_clear(&z->grid);
    for (uint32_t i = 0; i < z->live_count; i++) {
        const player_t *p = &z->players[z->live[i]];
        grid_insert(&z->grid, z->live[i], p->x, p->y);
    }
    for (uint32_t i = 0; i < z->live_count; i++) send_snapshot(g, z, &z->players[z->live[i]], (uint32_t)tick);
}

static void zone_destroy(void *state) {
    zone_t *z = state;
    grid_destroy(&z->grid);
    gs_free(z->players);
    gs_free(z->live);
    gs_free(z->near);
    gs_free(z);
}

static int zone_init(game_t *g, void **state) {
    const cfg_t *c = game_config(g);
    if (!c->game.zone_enabled) return 0; /* no state, no ops: every hook returns at once */
    uint32_t frame_max = c->session.max_frame_bytes;
    if (frame_max < CHAT_MSG_MAX) {
        log_error("zone_config", "reason=\"session.max_frame_bytes must be at least %u for CHAT_MSG\" max_frame_bytes=%u",
                  CHAT_MSG_MAX, frame_max);
        return -EINVAL;
    }
    zone_t *z = gs_calloc(1, sizeof *z);
    z->slots = c->session.max_sessions;
    z->players = gs_calloc(z->slots, sizeof *z->players);
    z->live = gs_calloc(z->slots, sizeof *z->live);
    z->near_cap = (frame_max - FRAME_HEADER - SNAPSHOT_HEAD) / SNAPSHOT_ENTRY;
    z->near = gs_calloc(z->near_cap, sizeof *z->near);
    z->world_size = (int32_t)c->game.world_size;
    z->aoi_radius = (int32_t)c->game.aoi_radius;
    z->max_speed_per_ms = c->game.max_speed / 1000.0;
    z->move_lag_ms = c->game.move_lag_ms;
    grid_init(&z->grid, z->slots, z->aoi_radius);
    int rc;
    if ((rc = game_register_op(g, OP_MOVE, "move", on_move, z)) < 0 ||
        (rc = game_register_op(g, OP_CHAT, "chat", on_chat, z)) < 0) {
        zone_destroy(z);
        return rc;
    }
    *state = z;
    return 0;
}

const game_module_t zone_module = {
    .name = "zone",
    .init = zone_init,
    .on_join = zone_join,
    .on_leave = zone_leave,
    .on_tick = zone_tick,
    .destroy = zone_destroy,
};

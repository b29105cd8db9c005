/* The logic thread: see logic.h. */
#include "logic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "bytes.h"
#include "frame.h"
#include "log.h"
#include "os.h"
#include "protocol.h"
#include "session.h"
#include "u64_map.h"

const double logic_tick_bounds[LOGIC_TICK_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005,
                                                       0.0075, 0.01, 0.015, 0.02, 0.05, 0.1, 0.25 };

/* How often logic_start looks whether the modules' init has run. */
#define LOGIC_START_POLL_MS 1u

typedef struct game_op {
    game_op_fn fn;
    void *state;
    const char *name;
} game_op_t;

/* A player as the game knows it, by session slot: who it is, and whether the game has it. */
typedef struct logic_player {
    uint32_t session;
    bool in_game;
    uint8_t name_len;
    uint64_t account;
    uint64_t order;          /* the account claim's number (auth.h): the later login wins */
    char name[PROTO_LOGIN_NAME_MAX + 1];
} logic_player_t;

/* Bytes of messages published here in one tick, delivered here at the next. */
#define LOGIC_LOCAL_MESSAGES_BYTES (64u * 1024u)

typedef struct game_subscription {
    char channel[CLUSTER_CHANNEL_MAX + 1];
    game_message_fn fn;
    void *state;
} game_subscription_t;

/* Messages published here this tick: [u8 channel length, channel, u16 length, data]. */
typedef struct local_messages {
    uint8_t *buf;
    size_t len;
} local_messages_t;

struct game {
    logic_env_t env;
    game_op_t ops[PROTO_OP_LIMIT];
    void **states;      /* per module */
    logic_player_t *players; /* session.max_sessions, by slot */
    u64_map_t accounts;      /* account -> the session the game has for it */
    game_subscription_t subs[GAME_SUBSCRIPTIONS_MAX];
    uint32_t sub_count;
    local_messages_t local[2]; /* [0] filling this tick, [1] delivered at the tick's start */
    uint32_t module_count;
    uint64_t now_ms;
    uint32_t tick_ms;
    logic_stats_t stats;
    os_thread_t *thread;
    atomic_bool stop;
    atomic_int ready; /* 0 starting, 1 modules initialised, -1 an init failed */
};

int game_register_op(game_t *g, uint16_t op, const char *name, game_op_fn fn, void *state) {
    if (op < OP_GAME_FIRST || op >= PROTO_OP_LIMIT) return -ERANGE;
    if (g->ops[op].fn) return -EEXIST;
    g->ops[op] = (game_op_t){ fn, state, name };
    return 0;
}

void logic_each_op(const logic_t *l, void (*fn)(void *ctx, uint16_t op, const char *name), void *ctx) {
    for (uint32_t op = OP_GAME_FIRST; op < PROTO_OP_LIMIT; op++)
        if (l->ops[op].fn) fn(ctx, (uint16_t)op, l->ops[op].name);
}

static int frame_fits(const game_t *g, uint16_t len) {
    return (uint32_t)len + FRAME_HEADER_BYTES <= g->env.cfg->session.max_frame_bytes;
}

uint8_t *game_send_reserve(game_t *g, uint32_t session, uint16_t op, uint16_t len) {
    if (!frame_fits(g, len)) return NULL;
    game_record_t *r = game_link_reserve(g->env.link, session, GAME_OUT_FRAME, op, len);
    return r ? r->data : NULL;
}

void game_send_commit(game_t *g) { game_link_commit(g->env.link); }

int game_send(game_t *g, uint32_t session, uint16_t op, const void *payload, uint16_t len) {
    if (!frame_fits(g, len)) return -EMSGSIZE;
    uint8_t *p = game_send_reserve(g, session, op, len);
    if (!p) return -ENOBUFS;
    if (len) memcpy(p, payload, len);
    game_send_commit(g);
    return 0;
}

void game_kick(game_t *g, uint32_t session, reason_t why, const char *text) {
    uint16_t len = proto_kick_text_len(strlen(text));
    game_record_t *r = game_link_reserve(g->env.link, session, GAME_OUT_KICK, (uint16_t)why, len);
    if (!r) return;
    memcpy(r->data, text, len);
    game_send_commit(g);
}

void game_abort(game_t *g, uint32_t session, reason_t why) {
    if (game_link_reserve(g->env.link, session, GAME_OUT_ABORT, (uint16_t)why, 0)) game_send_commit(g);
}

uint64_t game_now_ms(const game_t *g) { return g->now_ms; }
uint32_t game_tick_ms(const game_t *g) { return g->tick_ms; }
const struct cfg *game_config(const game_t *g) { return g->env.cfg; }

const logic_stats_t *logic_stats(const logic_t *l) { return &l->stats; }

/* The player the game has for a session id, or NULL (never joined, left, taken over). */
static logic_player_t *player_of(const game_t *g, uint32_t session) {
    uint32_t slot = session & SESSION_INDEX_MASK;
    if (slot >= g->env.cfg->session.max_sessions) return NULL;
    logic_player_t *p = &g->players[slot];
    return p->in_game && p->session == session ? p : NULL;
}

static void player_leave(game_t *g, logic_player_t *p) {
    p->in_game = false;
    if (p->account) u64_map_remove_if(&g->accounts, p->account, p->session);
    for (uint32_t m = 0; m < g->module_count; m++)
        if (game_modules[m]->on_leave) game_modules[m]->on_leave(g, g->states[m], p->session);
}

/* JOIN is {u64 account, u64 claim order, name}. Joins come on per-worker lanes, so two logins of
 * one account may arrive in either order, and the older one's leave after the newer one's join:
 * the later claim wins. An older player the game still has leaves first; a join older than the
 * player the game has is dropped (that session is being told logged_in_elsewhere). Modules never
 * see one account twice. */
static void player_join(game_t *g, const game_record_t *r) {
    uint32_t slot = r->session & SESSION_INDEX_MASK;
    if (r->len < 16 || slot >= g->env.cfg->session.max_sessions) return;
    uint64_t account = le_get_u64(r->data), order = le_get_u64(r->data + 8);
    uint32_t older;
    if (account && u64_map_get(&g->accounts, account, &older)) {
        logic_player_t *o = player_of(g, older);
        if (o && o->order > order) return;
        if (o) player_leave(g, o);
    }
    logic_player_t *p = &g->players[slot];
    p->session = r->session;
    p->in_game = true;
    p->account = account;
    p->order = order;
    uint32_t name_len = (uint32_t)r->len - 16u;
    p->name_len = (uint8_t)(name_len > PROTO_LOGIN_NAME_MAX ? PROTO_LOGIN_NAME_MAX : name_len);
    memcpy(p->name, r->data + 16, p->name_len);
    p->name[p->name_len] = 0;
    if (account) u64_map_put(&g->accounts, account, r->session, NULL);
    for (uint32_t m = 0; m < g->module_count; m++)
        if (game_modules[m]->on_join) game_modules[m]->on_join(g, g->states[m], r->session, p->name, p->name_len);
}

static void handle_inbound(void *ctx, const game_record_t *r) {
    game_t *g = ctx;
    if (r->kind == GAME_IN_JOIN) {
        player_join(g, r);
        return;
    }
    logic_player_t *p = player_of(g, r->session);
    if (!p) return; /* a session the game no longer has: its frames and leave come too late */
    if (r->kind == GAME_IN_LEAVE) player_leave(g, p);
    else if (r->op < PROTO_OP_LIMIT && g->ops[r->op].fn) g->ops[r->op].fn(g, g->ops[r->op].state, r->session, r->data, r->len);
}

int game_subscribe(game_t *g, const char *channel, game_message_fn fn, void *state) {
    size_t n = strlen(channel);
    if (n == 0 || n > CLUSTER_CHANNEL_MAX || !fn) return -EINVAL;
    if (g->sub_count == GAME_SUBSCRIPTIONS_MAX) return -ENOSPC;
    game_subscription_t *s = &g->subs[g->sub_count++];
    memcpy(s->channel, channel, n + 1);
    s->fn = fn;
    s->state = state;
    return 0;
}

int game_publish(game_t *g, const char *channel, const void *data, size_t len) {
    size_t n = strlen(channel);
    if (n == 0 || n > CLUSTER_CHANNEL_MAX || len > CLUSTER_MESSAGE_MAX) return -EMSGSIZE;
    /* This instance's subscribers get it from here, Redis or not; the others through the cluster
     * (which leaves out the copy Redis sends back). Both or neither, unless Redis is away. */
    local_messages_t *m = &g->local[0];
    if (m->len + 3 + n + len > LOGIC_LOCAL_MESSAGES_BYTES ||
        (g->env.cluster && cluster_publish(g->env.cluster, channel, data, len) < 0)) {
        stat_add(&g->stats.messages_dropped, 1);
        return -ENOBUFS;
    }
    m->buf[m->len++] = (uint8_t)n;
    memcpy(m->buf + m->len, channel, n);
    le_put_u16(m->buf + m->len + n, (uint16_t)len);
    memcpy(m->buf + m->len + n + 2, data, len);
    m->len += n + 2 + len;
    return 0;
}

static void deliver_message(void *ctx, const char *channel, const uint8_t *data, size_t len) {
    game_t *g = ctx;
    for (uint32_t i = 0; i < g->sub_count; i++)
        if (!strcmp(g->subs[i].channel, channel)) g->subs[i].fn(g, g->subs[i].state, data, len);
}

/* Last tick's messages: those from other instances, then those published here. */
static void deliver_messages(game_t *g) {
    cluster_take_messages(g->env.cluster, deliver_message, g);
    local_messages_t last = g->local[0];
    g->local[0] = g->local[1];
    g->local[0].len = 0;
    g->local[1] = last;
    for (size_t off = 0; off < last.len;) {
        char channel[CLUSTER_CHANNEL_MAX + 1];
        size_t n = last.buf[off++];
        memcpy(channel, last.buf + off, n);
        channel[n] = 0;
        size_t len = le_get_u16(last.buf + off + n);
        deliver_message(g, channel, last.buf + off + n + 2, len);
        off += n + 2 + len;
    }
}

uint32_t game_account_session(const game_t *g, uint64_t account) {
    uint32_t session;
    return account && u64_map_get(&g->accounts, account, &session) ? session : UINT32_MAX;
}

uint64_t game_session_account(const game_t *g, uint32_t session) {
    const logic_player_t *p = player_of(g, session);
    return p ? p->account : 0;
}

const char *game_session_name(const game_t *g, uint32_t session, size_t *len) {
    const logic_player_t *p = player_of(g, session);
    if (len) *len = p ? p->name_len : 0;
    return p ? p->name : NULL;
}

static void record_tick(game_t *g, uint64_t us) {
    int b = 0;
    while (b < LOGIC_TICK_BUCKETS && (double)us / 1e6 > logic_tick_bounds[b]) b++;
    stat_add(&g->stats.tick_buckets[b], 1);
    stat_add(&g->stats.tick_count, 1);
    stat_add(&g->stats.tick_sum_us, us);
    if (us > (uint64_t)g->tick_ms * 1000u) stat_add(&g->stats.overruns, 1);
}

static void run_tick(game_t *g, uint64_t tick) {
    g->now_ms = os_now_us() / 1000u;
    game_link_take_inbound(g->env.link, handle_inbound, g);
    deliver_messages(g);
    for (uint32_t m = 0; m < g->module_count; m++)
        if (game_modules[m]->on_tick) game_modules[m]->on_tick(g, g->states[m], tick);
    game_link_publish(g->env.link); /* the whole tick at once: one send per session */
}

static void logic_run(void *arg) {
    game_t *g = arg;
    for (uint32_t m = 0; m < g->module_count; m++) {
        if (game_modules[m]->init && game_modules[m]->init(g, &g->states[m]) < 0) {
            log_error("game_init_failed", "module=%s", game_modules[m]->name);
            atomic_store(&g->ready, -1);
            return;
        }
    }
    atomic_store(&g->ready, 1);
    uint64_t period_us = (uint64_t)g->tick_ms * 1000u, next = os_now_us();
    for (uint64_t tick = 0; !atomic_load(&g->stop); tick++) {
        uint64_t start = os_now_us();
        run_tick(g, tick);
        uint64_t end = os_now_us();
        record_tick(g, end - start);
        next += period_us;
        /* Behind by more than a tick: start again from now rather than run a burst of ticks. */
        if (end > next + period_us) next = end;
        if (next > end) os_sleep_ms((uint32_t)((next - end) / 1000u));
    }
}

int logic_start(logic_t **out, const logic_env_t *env, char *err, size_t err_len) {
    *out = NULL;
    uint32_t modules = 0;
    while (game_modules[modules]) modules++;
    if (!modules) return 0;
    game_t *g = gs_calloc(1, sizeof *g);
    g->env = *env;
    g->tick_ms = 1000u / env->cfg->game.tick_hz ? 1000u / env->cfg->game.tick_hz : 1;
    g->module_count = modules;
    g->states = gs_calloc(g->module_count + 1, sizeof *g->states);
    g->players = gs_calloc(env->cfg->session.max_sessions, sizeof *g->players);
    u64_map_init(&g->accounts, env->cfg->session.max_sessions);
    for (int i = 0; i < 2; i++) g->local[i].buf = gs_malloc(LOGIC_LOCAL_MESSAGES_BYTES);
    atomic_init(&g->stop, false);
    atomic_init(&g->ready, 0);
    int rc = os_thread_start(&g->thread, "gskel-logic", logic_run, g);
    while (rc == 0 && atomic_load(&g->ready) == 0) os_sleep_ms(LOGIC_START_POLL_MS);
    if (rc < 0 || atomic_load(&g->ready) < 0) {
        snprintf(err, err_len, "game logic: %s", rc < 0 ? strerror(-rc) : "a module's init failed");
        logic_stop(g);
        return rc < 0 ? rc : -EINVAL;
    }
    log_info("logic_started", "modules=%u tick_hz=%u", g->module_count, env->cfg->game.tick_hz);
    *out = g;
    return 0;
}

void logic_stop(logic_t *g) {
    if (!g) return;
    atomic_store(&g->stop, true);
    if (g->thread) os_thread_join(g->thread);
    for (uint32_t m = 0; m < g->module_count; m++)
        if (game_modules[m]->destroy && g->states[m]) game_modules[m]->destroy(g->states[m]);
    gs_free(g->states);
    gs_free(g->players);
    gs_free(g->local[0].buf);
    gs_free(g->local[1].buf);
    u64_map_destroy(&g->accounts);
    gs_free(g);
}

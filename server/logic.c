/* The logic thread: see logic.h. */
#include "logic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "dispatch.h"
#include "log.h"
#include "os.h"
#include "server.h"

const double logic_tick_bounds[LOGIC_TICK_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005,
                                                       0.0075, 0.01, 0.015, 0.02, 0.05, 0.1, 0.25 };

typedef struct game_op {
    game_op_fn fn;
    void *state;
} game_op_t;

struct game {
    struct server *srv;
    uint32_t worker_count;
    spsc_t *to_logic;   /* one per worker: the worker produces */
    spsc_t *to_worker;  /* one per worker: this thread produces */
    uint8_t *touched;   /* workers sent something this tick: wake them */
    spsc_t *open_ring;  /* the ring with a reservation open (game_send_reserve) */
    uint32_t open_worker;
    game_op_t ops[DISPATCH_MAX_OPS];
    void **states;      /* per module */
    uint32_t module_count;
    uint64_t now_ms;
    uint32_t tick_ms;
    logic_stats_t stats;
    os_thread_t *thread;
    atomic_bool stop;
    atomic_int ready; /* 0 starting, 1 modules initialised, -1 an init failed */
    int enabled;
};

/* The worker-side forwarder every game op is registered with. */
static int forward_game_frame(worker_t *w, session_t *s, const frame_t *f) {
    logic_post(w->logic, w, s->id, LOGIC_IN_FRAME, f->op, f->payload, f->payload_len);
    return 0;
}

int game_register_op(game_t *g, uint16_t op, const char *name, game_op_fn fn, void *state) {
    int rc = dispatch_register(op, name, DISPATCH_LOGGED_IN, forward_game_frame);
    if (rc < 0) return rc;
    g->ops[op] = (game_op_t){ fn, state };
    g->enabled = 1;
    return 0;
}

static spsc_t *ring_to(game_t *g, uint32_t session, uint32_t *worker) {
    worker_t *w = server_worker_of(g->srv, session);
    if (!w) return NULL;
    *worker = w->index;
    return &g->to_worker[w->index];
}

static logic_record_t *out_reserve(game_t *g, uint32_t session, uint16_t kind, uint16_t op, uint16_t len) {
    uint32_t wi;
    spsc_t *ring = ring_to(g, session, &wi);
    logic_record_t *r = ring ? spsc_reserve(ring, sizeof *r + len) : NULL;
    if (!r) {
        stat_add(&g->stats.dropped_out, 1);
        return NULL;
    }
    *r = (logic_record_t){ .session = session, .kind = kind, .op = op, .len = len };
    g->open_ring = ring;
    g->open_worker = wi;
    return r;
}

void game_send_commit(game_t *g) {
    if (!g->open_ring) return;
    spsc_commit(g->open_ring);
    g->touched[g->open_worker] = 1;
    g->open_ring = NULL;
}

uint8_t *game_send_reserve(game_t *g, uint32_t session, uint16_t op, uint16_t len) {
    if ((uint32_t)len + FRAME_HEADER_BYTES > g->srv->cfg.session.max_frame_bytes) return NULL;
    logic_record_t *r = out_reserve(g, session, LOGIC_OUT_FRAME, op, len);
    return r ? r->data : NULL;
}

int game_send(game_t *g, uint32_t session, uint16_t op, const void *payload, uint16_t len) {
    if ((uint32_t)len + FRAME_HEADER_BYTES > g->srv->cfg.session.max_frame_bytes) return -EMSGSIZE;
    uint8_t *p = game_send_reserve(g, session, op, len);
    if (!p) return -ENOBUFS;
    if (len) memcpy(p, payload, len);
    game_send_commit(g);
    return 0;
}

void game_kick(game_t *g, uint32_t session, reason_t why, const char *text) {
    size_t n = strlen(text);
    uint16_t len = (uint16_t)(n > PROTO_KICK_TEXT_MAX ? PROTO_KICK_TEXT_MAX : n);
    logic_record_t *r = out_reserve(g, session, LOGIC_OUT_KICK, (uint16_t)why, len);
    if (!r) return;
    memcpy(r->data, text, len);
    game_send_commit(g);
}

void game_abort(game_t *g, uint32_t session, reason_t why) {
    if (out_reserve(g, session, LOGIC_OUT_ABORT, (uint16_t)why, 0)) game_send_commit(g);
}

uint64_t game_now_ms(const game_t *g) { return g->now_ms; }
uint32_t game_tick_ms(const game_t *g) { return g->tick_ms; }
const struct cfg *game_config(const game_t *g) { return &g->srv->cfg; }

int logic_enabled(const logic_t *l) { return l && l->enabled; }
const logic_stats_t *logic_stats(const logic_t *l) { return &l->stats; }

int logic_post(logic_t *l, worker_t *w, uint32_t session, logic_in_kind_t kind, uint16_t op, const void *data,
               uint16_t len) {
    spsc_t *ring = &l->to_logic[w->index];
    /* Frames leave headroom in the ring: a JOIN or LEAVE must never be the record dropped, or
     * the game would hold a ghost player or never see one. */
    if (kind == LOGIC_IN_FRAME && spsc_free(ring) < LOGIC_EVENT_HEADROOM + sizeof(logic_record_t) + len + 16) {
        stat_add(&l->stats.dropped_in, 1);
        return -ENOBUFS;
    }
    logic_record_t *r = spsc_reserve(ring, sizeof *r + len);
    if (!r) {
        /* The logic thread is behind by a whole ring: the server is overloaded. Dropping the
         * frame is counted and visible; stalling the worker would stall every session. */
        stat_add(&l->stats.dropped_in, 1);
        return -ENOBUFS;
    }
    *r = (logic_record_t){ .session = session, .kind = (uint16_t)kind, .op = op, .len = len };
    if (len) memcpy(r->data, data, len);
    spsc_commit(ring);
    spsc_publish(ring);
    return 0;
}

void logic_drain(logic_t *l, worker_t *w, void (*fn)(worker_t *w, const logic_record_t *r)) {
    size_t n;
    const logic_record_t *r;
    while ((r = spsc_peek(&l->to_worker[w->index], &n))) {
        fn(w, r);
        spsc_release(&l->to_worker[w->index]);
    }
}

static void handle_inbound(game_t *g, const logic_record_t *r) {
    for (uint32_t m = 0; m < g->module_count; m++) {
        const game_module_t *mod = game_modules[m];
        if (r->kind == LOGIC_IN_JOIN && mod->on_join) mod->on_join(g, g->states[m], r->session, (const char *)r->data, r->len);
        if (r->kind == LOGIC_IN_LEAVE && mod->on_leave) mod->on_leave(g, g->states[m], r->session);
    }
    if (r->kind == LOGIC_IN_FRAME && r->op < DISPATCH_MAX_OPS && g->ops[r->op].fn)
        g->ops[r->op].fn(g, g->ops[r->op].state, r->session, r->data, r->len);
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
    /* Each worker's ring is in arrival order, and a session lives on one worker: frames of one
     * session are handled in the order they came. */
    for (uint32_t w = 0; w < g->worker_count; w++) {
        size_t n;
        const logic_record_t *r;
        while ((r = spsc_peek(&g->to_logic[w], &n))) {
            handle_inbound(g, r);
            spsc_release(&g->to_logic[w]);
        }
    }
    for (uint32_t m = 0; m < g->module_count; m++)
        if (game_modules[m]->on_tick) game_modules[m]->on_tick(g, g->states[m], tick);
    for (uint32_t w = 0; w < g->worker_count; w++) {
        if (!g->touched[w]) continue;
        g->touched[w] = 0;
        spsc_publish(&g->to_worker[w]); /* the whole tick at once: one send per session */
        io_loop_t *loop = atomic_load(&g->srv->workers[w].wake_loop);
        if (loop) io_wake(loop);
    }
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

int logic_start(logic_t **out, server_t *srv, char *err, size_t err_len) {
    game_t *g = gs_calloc(1, sizeof *g);
    g->srv = srv;
    g->worker_count = srv->worker_count;
    g->tick_ms = 1000u / srv->cfg.game.tick_hz ? 1000u / srv->cfg.game.tick_hz : 1;
    g->to_logic = gs_calloc(g->worker_count, sizeof *g->to_logic);
    g->to_worker = gs_calloc(g->worker_count, sizeof *g->to_worker);
    g->touched = gs_calloc(g->worker_count, sizeof *g->touched);
    for (uint32_t w = 0; w < g->worker_count; w++) {
        spsc_init(&g->to_logic[w], srv->cfg.game.inbound_queue_bytes);
        spsc_init(&g->to_worker[w], srv->cfg.game.outbound_queue_bytes);
        srv->workers[w].logic = g;
    }
    while (game_modules[g->module_count]) g->module_count++;
    g->enabled = g->module_count > 0; /* joins and leaves matter to a module with hooks but no ops */
    g->states = gs_calloc(g->module_count + 1, sizeof *g->states);
    atomic_init(&g->stop, false);
    atomic_init(&g->ready, 0);
    *out = g;
    if (!g->module_count) return 0;
    int rc = os_thread_start(&g->thread, "gskel-logic", logic_run, g);
    /* Ops are registered by the modules' init: done before any worker reads the table. */
    while (rc == 0 && atomic_load(&g->ready) == 0) os_sleep_ms(1);
    if (rc < 0 || atomic_load(&g->ready) < 0) {
        snprintf(err, err_len, "game logic: %s", rc < 0 ? strerror(-rc) : "a module's init failed");
        return rc < 0 ? rc : -EINVAL;
    }
    log_info("logic_started", "modules=%u tick_hz=%u", g->module_count, srv->cfg.game.tick_hz);
    return 0;
}

void logic_stop(logic_t *g) {
    if (!g) return;
    atomic_store(&g->stop, true);
    if (g->thread) os_thread_join(g->thread);
    for (uint32_t m = 0; m < g->module_count; m++)
        if (game_modules[m]->destroy && g->states[m]) game_modules[m]->destroy(g->states[m]);
    for (uint32_t w = 0; w < g->worker_count; w++) {
        spsc_destroy(&g->to_logic[w]);
        spsc_destroy(&g->to_worker[w]);
    }
    gs_free(g->to_logic);
    gs_free(g->to_worker);
    gs_free(g->touched);
    gs_free(g->states);
    gs_free(g);
}

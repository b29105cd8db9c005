/* The dispatch table and the skeleton's built-in ops. */
#include "dispatch.h"

#include <errno.h>

#include "bytes.h"
#include "logic.h"
#include "os.h"
#include "worker.h"

typedef struct dispatch_entry {
    dispatch_fn fn;
    const char *name;
    dispatch_gate_t gate;
} dispatch_entry_t;

static int op_echo(struct worker *w, session_t *s, const frame_t *f);
static int op_ping(struct worker *w, session_t *s, const frame_t *f);
static int op_login(struct worker *w, session_t *s, const frame_t *f);
static int op_logout(struct worker *w, session_t *s, const frame_t *f);

static dispatch_entry_t table[DISPATCH_MAX_OPS] = {
    [OP_ECHO] = { op_echo, "echo", DISPATCH_ANY_STATE },
    [OP_PING] = { op_ping, "ping", DISPATCH_ANY_STATE },
    [OP_LOGIN] = { op_login, "login", DISPATCH_ANY_STATE },
    [OP_LOGOUT] = { op_logout, "logout", DISPATCH_LOGGED_IN },
};

int dispatch_register(uint16_t op, const char *name, dispatch_gate_t gate, dispatch_fn fn) {
    if (op < OP_GAME_FIRST || op >= DISPATCH_MAX_OPS) return -ERANGE;
    if (table[op].fn) return -EEXIST;
    table[op] = (dispatch_entry_t){ fn, name, gate };
    return 0;
}

static int reject(worker_t *w, session_t *s, reason_t why) {
    session_abort(w, s, why);
    return 1;
}

int dispatch_frame(worker_t *w, session_t *s, const frame_t *f) {
    const dispatch_entry_t *e = f->op < DISPATCH_MAX_OPS ? &table[f->op] : NULL;
    if (!e || !e->fn) return reject(w, s, REASON_BAD_OPCODE);
    if (e->gate == DISPATCH_LOGGED_IN && s->state != SESSION_LOGGED_IN) return reject(w, s, REASON_BAD_STATE);
    return e->fn(w, s, f);
}

static int op_echo(worker_t *w, session_t *s, const frame_t *f) {
    return session_send(w, s, OP_ECHO, f->payload, f->payload_len) < 0;
}

static int op_ping(worker_t *w, session_t *s, const frame_t *f) {
    byte_reader_t r = br_init(f->payload, f->payload_len);
    uint64_t client_time = br_u64(&r);
    if (r.err || br_left(&r)) return reject(w, s, REASON_BAD_PAYLOAD);
    uint8_t *p = session_send_reserve(w, s, OP_PONG, 16);
    if (!p) return 1;
    le_put_u64(p, client_time);
    le_put_u64(p + 8, os_wall_us());
    return 0;
}

static int op_login(worker_t *w, session_t *s, const frame_t *f) {
    byte_reader_t r = br_init(f->payload, f->payload_len);
    uint8_t n = br_u8(&r);
    br_bytes(&r, n);
    if (r.err || br_left(&r) || n == 0 || n > PROTO_LOGIN_NAME_MAX) return reject(w, s, REASON_BAD_PAYLOAD);
    if (session_login(w, s) < 0) return reject(w, s, REASON_BAD_STATE);
    if (logic_enabled(w->logic)) {
        /* A player the game never saw join must not play: a full ring means an overloaded logic
         * thread, and the client is told to come back (KICK), not silently half-admitted. */
        if (logic_post(w->logic, w, s->id, LOGIC_IN_JOIN, 0, f->payload + 1, n) < 0) {
            session_kick(w, s, REASON_KICKED, "server busy");
            return 1;
        }
        s->in_game = 1;
    }
    uint8_t id[4];
    le_put_u32(id, s->id);
    return session_send(w, s, OP_LOGIN_OK, id, sizeof id) < 0;
}

static int op_logout(worker_t *w, session_t *s, const frame_t *f) {
    if (f->payload_len != 0) return reject(w, s, REASON_BAD_PAYLOAD);
    if (session_send(w, s, OP_LOGOUT_OK, NULL, 0) < 0) return 1;
    /* LOGOUT_OK goes out with the next flush; the client is to close first. */
    session_notify(w, s, REASON_LOGOUT);
    return 1;
}

/* The dispatch table and the skeleton's built-in ops. */
#include "dispatch.h"

#include <errno.h>

#include "bytes.h"
#include "os.h"

typedef struct dispatch_entry {
    dispatch_fn fn;
    dispatch_gate_t gate;
} dispatch_entry_t;

static int op_echo(dispatch_env_t *d, session_t *s, const frame_t *f);
static int op_ping(dispatch_env_t *d, session_t *s, const frame_t *f);
static int op_login(dispatch_env_t *d, session_t *s, const frame_t *f);
static int op_logout(dispatch_env_t *d, session_t *s, const frame_t *f);

static dispatch_entry_t table[PROTO_OP_LIMIT] = {
    [OP_ECHO] = { op_echo, DISPATCH_ANY_STATE },
    [OP_PING] = { op_ping, DISPATCH_ANY_STATE },
    [OP_LOGIN] = { op_login, DISPATCH_ANY_STATE },
    [OP_LOGOUT] = { op_logout, DISPATCH_LOGGED_IN },
};

int dispatch_register(uint16_t op, dispatch_gate_t gate, dispatch_fn fn) {
    if (op < OP_GAME_FIRST || op >= PROTO_OP_LIMIT) return -ERANGE;
    if (table[op].fn == fn && table[op].gate == gate) return 0; /* a second server in one process */
    if (table[op].fn) return -EEXIST;
    table[op] = (dispatch_entry_t){ fn, gate };
    return 0;
}

static int reject(dispatch_env_t *d, session_t *s, reason_t why) {
    session_abort(d->sessions, s, why);
    return 1;
}

int dispatch_frame(dispatch_env_t *d, session_t *s, const frame_t *f) {
    const dispatch_entry_t *e = f->op < PROTO_OP_LIMIT ? &table[f->op] : NULL;
    if (!e || !e->fn) return reject(d, s, REASON_BAD_OPCODE);
    if (e->gate == DISPATCH_LOGGED_IN && s->state != SESSION_LOGGED_IN) return reject(d, s, REASON_BAD_STATE);
    return e->fn(d, s, f);
}

int dispatch_to_game(dispatch_env_t *d, session_t *s, const frame_t *f) {
    game_link_post(d->game, d->lane, s->id, GAME_IN_FRAME, f->op, f->payload, f->payload_len);
    return 0;
}

static int op_echo(dispatch_env_t *d, session_t *s, const frame_t *f) {
    return session_send(d->sessions, s, OP_ECHO, f->payload, f->payload_len) < 0;
}

static int op_ping(dispatch_env_t *d, session_t *s, const frame_t *f) {
    byte_reader_t r = br_init(f->payload, f->payload_len);
    uint64_t client_time = br_u64(&r);
    if (r.err || br_left(&r)) return reject(d, s, REASON_BAD_PAYLOAD);
    uint8_t *p = session_send_reserve(d->sessions, s, OP_PONG, PROTO_PONG_BYTES);
    if (!p) return 1;
    le_put_u64(p, client_time);
    le_put_u64(p + 8, os_wall_us());
    return 0;
}

static int op_login(dispatch_env_t *d, session_t *s, const frame_t *f) {
    byte_reader_t r = br_init(f->payload, f->payload_len);
    uint8_t n = br_u8(&r);
    br_bytes(&r, n);
    if (r.err || br_left(&r) || n == 0 || n > PROTO_LOGIN_NAME_MAX) return reject(d, s, REASON_BAD_PAYLOAD);
    if (session_to_logged_in(d->sessions, s) < 0) return reject(d, s, REASON_BAD_STATE);
    if (d->game) {
        /* A player the game never saw join must not play: a full ring means an overloaded logic
         * thread, and the client is told to come back (KICK), not silently half-admitted. */
        if (game_link_post(d->game, d->lane, s->id, GAME_IN_JOIN, 0, f->payload + 1, n) < 0) {
            static const char busy[] = "server busy";
            session_kick(d->sessions, s, REASON_KICKED, busy, sizeof busy - 1);
            return 1;
        }
        s->in_game = 1;
    }
    uint8_t id[4];
    le_put_u32(id, s->id);
    return session_send(d->sessions, s, OP_LOGIN_OK, id, sizeof id) < 0;
}

static int op_logout(dispatch_env_t *d, session_t *s, const frame_t *f) {
    if (f->payload_len != 0) return reject(d, s, REASON_BAD_PAYLOAD);
    if (session_send(d->sessions, s, OP_LOGOUT_OK, NULL, 0) < 0) return 1;
    /* LOGOUT_OK goes out with the next flush; the client is to close first. */
    session_to_flushing(d->sessions, s, REASON_LOGOUT);
    return 1;
}

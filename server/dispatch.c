/* The dispatch table and the skeleton's built-in ops. */
#include "dispatch.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <string.h>

#include "bytes.h"
#include "os.h"
#include "ticket.h"

typedef struct dispatch_entry {
    dispatch_fn fn;
    dispatch_gate_t gate;
} dispatch_entry_t;

static int op_echo(dispatch_env_t *d, session_t *s, const frame_t *f);
static int op_ping(dispatch_env_t *d, session_t *s, const frame_t *f);
static int op_login(dispatch_env_t *d, session_t *s, const frame_t *f);
static int op_logout(dispatch_env_t *d, session_t *s, const frame_t *f);
static int op_resume(dispatch_env_t *d, session_t *s, const frame_t *f);
static int op_ack(dispatch_env_t *d, session_t *s, const frame_t *f);

static dispatch_entry_t table[PROTO_OP_LIMIT] = {
    [OP_ECHO] = { op_echo, DISPATCH_ANY_STATE },
    [OP_PING] = { op_ping, DISPATCH_ANY_STATE },
    [OP_LOGIN] = { op_login, DISPATCH_ANY_STATE },
    [OP_LOGOUT] = { op_logout, DISPATCH_LOGGED_IN },
    [OP_RESUME] = { op_resume, DISPATCH_ANY_STATE },
    [OP_ACK] = { op_ack, DISPATCH_LOGGED_IN },
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
    if (s->resume) s->resume->frames_in++; /* RESUME_OK tells a resuming client how many came */
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

/* Who a LOGIN says it is: the ticket's account and name, or (auth.mode "none") the name alone. */
typedef struct login_claim {
    uint64_t account;
    const char *name;
    uint8_t name_len;
    size_t used; /* payload bytes before the optional flags byte */
    ticket_t ticket;
} login_claim_t;

/* REASON_NONE, or why the LOGIN is refused (bad_payload, bad_ticket: RST; others: KICK). */
static reason_t login_parse(dispatch_env_t *d, const frame_t *f, login_claim_t *c) {
    if (d->sessions->cfg->auth.mode == CFG_AUTH_TICKET) {
        reason_t r = auth_check_ticket(d->auth, f->payload, f->payload_len, os_wall_us() / 1000000u, &c->ticket, &c->used);
        if (r) return r;
        c->account = c->ticket.account;
        c->name = c->ticket.name;
        c->name_len = c->ticket.name_len;
        return REASON_NONE;
    }
    byte_reader_t r = br_init(f->payload, f->payload_len);
    uint8_t n = br_u8(&r);
    const uint8_t *name = br_bytes(&r, n);
    if (r.err || n == 0 || n > PROTO_LOGIN_NAME_MAX) return REASON_BAD_PAYLOAD;
    c->name = (const char *)name;
    c->name_len = n;
    c->used = 1u + n;
    return REASON_NONE;
}

static int login_refuse(dispatch_env_t *d, session_t *s, reason_t why) {
    if (why == REASON_BAD_PAYLOAD || why == REASON_BAD_TICKET) return reject(d, s, why);
    static const char expired[] = "ticket expired: log in again", busy[] = "server busy";
    if (why == REASON_TICKET_EXPIRED) session_kick(d->sessions, s, why, expired, sizeof expired - 1);
    else session_kick(d->sessions, s, why, busy, sizeof busy - 1);
    return 1;
}

/* JOIN for the game: u64 account, u64 the claim's order, then the name. */
static int post_join(dispatch_env_t *d, session_t *s, const login_claim_t *c, uint64_t order) {
    uint8_t join[16 + PROTO_LOGIN_NAME_MAX];
    le_put_u64(join, c->account);
    le_put_u64(join + 8, order);
    memcpy(join + 16, c->name, c->name_len);
    return game_link_post(d->game, d->lane, s->id, GAME_IN_JOIN, 0, join, (uint16_t)(16 + c->name_len));
}

static int op_login(dispatch_env_t *d, session_t *s, const frame_t *f) {
    /* A second LOGIN is refused before its ticket costs a signature check. */
    if (s->state != SESSION_OPEN) return reject(d, s, REASON_BAD_STATE);
    login_claim_t c = { 0 };
    reason_t refused = login_parse(d, f, &c);
    if (refused) return login_refuse(d, s, refused);
    size_t flags_len = f->payload_len - c.used;
    uint8_t flags = flags_len == 1 ? f->payload[c.used] : 0;
    if (flags_len > 1 || (flags & ~PROTO_LOGIN_FLAG_RESUME)) return reject(d, s, REASON_BAD_PAYLOAD);
    if (session_to_logged_in(d->sessions, s) < 0) return reject(d, s, REASON_BAD_STATE);
    s->account = c.account;
    /* One session per account: the older one is told to go before the game hears of this one
     * (the logic thread puts its leave before this join, whichever worker holds it). */
    uint64_t order = 0;
    if (c.account) {
        uint32_t older = auth_claim_account(d->auth, c.account, s->id, &order);
        if (older != UINT32_MAX) d->hooks->evict(d->hooks_ctx, older);
        cluster_claim_account(d->cluster, c.account, s->id, order); /* and on every other instance */
    }
    if (d->game) {
        /* A player the game never saw join must not play: a full ring means an overloaded logic
         * thread, and the client is told to come back (KICK), not silently half-admitted. */
        if (post_join(d, s, &c, order) < 0) {
            static const char busy[] = "server busy";
            session_kick(d->sessions, s, REASON_KICKED, busy, sizeof busy - 1);
            return 1;
        }
        s->in_game = 1;
    }
    bool resume = (flags & PROTO_LOGIN_FLAG_RESUME) && d->sessions->cfg->session.resume_window_ms;
    uint8_t ok[4 + PROTO_RESUME_TOKEN_BYTES];
    le_put_u32(ok, s->id);
    if (resume) auth_random(ok + 4, PROTO_RESUME_TOKEN_BYTES);
    if (session_send(d->sessions, s, OP_LOGIN_OK, ok, (uint16_t)(resume ? sizeof ok : 4)) < 0) return 1;
    /* Frames are numbered from the one after LOGIN_OK. */
    if (resume) session_keep_frames(d->sessions, s, ok + 4);
    return 0;
}

static int op_logout(dispatch_env_t *d, session_t *s, const frame_t *f) {
    if (f->payload_len != 0) return reject(d, s, REASON_BAD_PAYLOAD);
    if (session_send(d->sessions, s, OP_LOGOUT_OK, NULL, 0) < 0) return 1;
    /* LOGOUT_OK goes out with the next flush; the client is to close first. */
    session_to_flushing(d->sessions, s, REASON_LOGOUT);
    return 1;
}

static int op_resume(dispatch_env_t *d, session_t *s, const frame_t *f) {
    if (s->state != SESSION_OPEN) return reject(d, s, REASON_BAD_STATE); /* instead of LOGIN, not after */
    byte_reader_t r = br_init(f->payload, f->payload_len);
    uint32_t id = br_u32(&r);
    const uint8_t *token = br_bytes(&r, PROTO_RESUME_TOKEN_BYTES);
    uint64_t received = br_u64(&r);
    if (r.err || br_left(&r)) return reject(d, s, REASON_BAD_PAYLOAD);
    d->hooks->resume(d->hooks_ctx, s, id, token, received);
    return 1;
}

static int op_ack(dispatch_env_t *d, session_t *s, const frame_t *f) {
    if (!s->resume) return reject(d, s, REASON_BAD_STATE); /* LOGIN did not ask for resume */
    byte_reader_t r = br_init(f->payload, f->payload_len);
    uint64_t count = br_u64(&r);
    if (r.err || br_left(&r)) return reject(d, s, REASON_BAD_PAYLOAD);
    if (session_ack(d->sessions, s, count) < 0) return reject(d, s, REASON_BAD_PAYLOAD);
    return 0;
}

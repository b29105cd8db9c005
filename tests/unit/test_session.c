/* session: the session layer alone, with no worker above it. A fake io backend stands in for the
 * loop: it records attaches, the one send in flight and every io_close with its mode; the tests
 * make the sends and completions the worker would, fire deadlines through the real timer wheel on
 * a clock they move, and call session_to_free where IO_CLOSED would. Real socketpairs stand in
 * for the accepted sockets so the notice's acknowledgement (SIOCOUTQ) reads a real queue. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bytes.h"
#include "config.h"
#include "protocol.h"
#include "session.h"

enum {
    SLOTS = 3,
    LOGIN_MS = 1000,
    IDLE_MS = 5000,
    GRACE_MS = 300,
    QUEUE_LIMIT = 256, /* also the chunk and the largest frame: two 104-byte frames fit, not three */
    ACK_POLL_MS = 10,  /* session.c's poll of the notice's acknowledgement */
    MAX_FDS = 16,
    MAX_CLOSES = 8,
    WIRE_CAP = 512,
};

#define START_MS 1000000ull

typedef struct fake_loop {
    io_loop_t base;            /* first: the io.h wrappers dispatch through it */
    uint32_t attached;
    uint32_t closes;           /* io_close calls */
    io_handle_t *closed[MAX_CLOSES];
    io_close_mode_t mode[MAX_CLOSES];
    uint8_t wire[WIRE_CAP];    /* every byte handed to io_send, in order */
    uint32_t wire_len;
} fake_loop_t;

typedef struct fixture {
    fake_loop_t loop;
    cfg_t cfg;
    pool_t send_chunks, frame_bufs;
    token_bucket_rate_t packet_rate, byte_rate;
    session_hooks_t hooks;
    timer_wheel_t timers;
    session_table_t table;
    loop_clock_t clock;
    session_env_t env;
    uint32_t outputs;          /* hooks.output calls */
    session_t *last_output;
    uint32_t ended;            /* hooks.ended calls */
    uint32_t ended_id;         /* the id the last one saw */
    uint8_t ended_state;       /* the state it was called in */
    int fds[MAX_FDS][2];       /* [0] the server's end, given to session_open; [1] the client's */
    uint32_t nfds;
} fixture_t;

static fixture_t fx;
static uint64_t now_us;

static uint64_t test_clock_us(void) { return now_us; }

/* ---- the fake backend: only what the session layer and these tests call ---- */

static int fake_attach(io_loop_t *loop, io_handle_t *h, sock_t fd, uint32_t user)
{
    ((fake_loop_t *)loop)->attached++;
    io_handle_reset(h, fd, user);
    h->state = IO_HANDLE_ACTIVE;
    return 0;
}

static int fake_send(io_loop_t *loop, io_handle_t *h, const uint8_t *buf, uint32_t len)
{
    fake_loop_t *l = (fake_loop_t *)loop;
    if (io_send_busy(h) || l->wire_len + len > WIRE_CAP)
        return -EINVAL;
    memcpy(l->wire + l->wire_len, buf, len);
    l->wire_len += len;
    h->send_ptr = buf;
    h->send_len = len;
    return 0;
}

static int fake_close(io_loop_t *loop, io_handle_t *h, io_close_mode_t mode)
{
    fake_loop_t *l = (fake_loop_t *)loop;
    if (l->closes < MAX_CLOSES) {
        l->closed[l->closes] = h;
        l->mode[l->closes] = mode;
    }
    l->closes++;
    h->state = IO_HANDLE_CLOSING;
    h->send_ptr = NULL; /* cancelled: no IO_SENT follows an io_close */
    return 0;
}

/* The session layer never accepts, receives, runs or wakes the loop: those stay NULL. */
static const io_backend_ops_t fake_ops = {
    .name = "fake",
    .attach = fake_attach,
    .send = fake_send,
    .close = fake_close,
};

static void on_output(void *ctx, session_t *s)
{
    fixture_t *f = ctx;
    f->outputs++;
    f->last_output = s;
}

static void on_ended(void *ctx, session_t *s)
{
    fixture_t *f = ctx;
    f->ended++;
    f->ended_id = s->id;
    f->ended_state = s->state;
}

/* ---- fixtures: the env once per group, a fresh table, wheel and clock per test ---- */

static int group_setup(void **state)
{
    fixture_t *f = &fx;
    char err[CFG_ERR_MAX];
    memset(f, 0, sizeof(*f));
    if (cfg_load_defaults(&f->cfg, err) != 0)
        return -1;
    f->cfg.session.login_timeout_ms = LOGIN_MS;
    f->cfg.session.idle_timeout_ms = IDLE_MS;
    f->cfg.session.close_grace_ms = GRACE_MS;
    f->cfg.session.max_frame_bytes = QUEUE_LIMIT;
    f->cfg.session.send_chunk_bytes = QUEUE_LIMIT;
    f->cfg.session.send_queue_limit_bytes = QUEUE_LIMIT;
    f->cfg.guard.partial_frame_timeout_ms = 0;
    if (cfg_validate(&f->cfg, err) != 0)
        return -1;
    if (sendq_pool_init(&f->send_chunks, f->cfg.session.send_chunk_bytes) != 0 ||
        pool_init(&f->frame_bufs, f->cfg.session.max_frame_bytes, 2) != 0)
        return -1;
    f->loop.base.ops = &fake_ops;
    f->hooks = (session_hooks_t){ .output = on_output, .ended = on_ended };
    f->env = (session_env_t){ .loop = &f->loop.base, .timers = &f->timers, .send_chunks = &f->send_chunks,
                              .frame_bufs = &f->frame_bufs, .clock = &f->clock, .cfg = &f->cfg,
                              .packet_rate = &f->packet_rate, .byte_rate = &f->byte_rate,
                              .table = &f->table, .hooks = &f->hooks, .hooks_ctx = f };
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture_t *f = *state;
    pool_destroy(&f->send_chunks);
    pool_destroy(&f->frame_bufs);
    return 0;
}

static int setup(void **state)
{
    fixture_t *f = *state;
    memset(&f->loop, 0, sizeof(f->loop));
    f->loop.base.ops = &fake_ops;
    f->outputs = f->ended = f->nfds = 0;
    f->last_output = NULL;
    now_us = START_MS * 1000u;
    f->clock = (loop_clock_t){ .read_us = test_clock_us };
    if (timer_wheel_init(&f->timers, START_MS, 1, 1024) != 0)
        return -1;
    return session_table_init(&f->table, 0, SLOTS);
}

/* Ends whatever a test left open, as the worker would at IO_CLOSED, then checks that nothing
 * queued outlived its session. */
static int teardown(void **state)
{
    fixture_t *f = *state;
    for (uint32_t i = 0; i < f->table.fresh; i++) {
        session_t *s = &f->table.slots[i];
        if (session_is_live(s))
            session_abort(&f->env, s, REASON_SHUTDOWN);
        if (s->state == SESSION_CLOSING)
            session_to_free(&f->env, s);
    }
    int leaked = f->send_chunks.in_use != 0 || f->frame_bufs.in_use != 0;
    timer_wheel_destroy(&f->timers);
    session_table_destroy(&f->table);
    for (uint32_t i = 0; i < f->nfds; i++) {
        close(f->fds[i][0]);
        close(f->fds[i][1]);
    }
    return leaked ? -1 : 0;
}

/* ---- what the owner does: accept, send, complete, let time pass ---- */

/* session_open on a fresh socketpair; NULL if the table is full. */
static session_t *open_session(fixture_t *f)
{
    assert_true(f->nfds < MAX_FDS);
    int *sv = f->fds[f->nfds];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    f->nfds++;
    return session_open(&f->env, sv[0], NULL, false);
}

static session_t *logged_in_session(fixture_t *f)
{
    session_t *s = open_session(f);
    assert_non_null(s);
    assert_int_equal(session_to_logged_in(&f->env, s), 0);
    return s;
}

/* The worker's flush: everything queued goes to the loop as one send. */
static void start_send(fixture_t *f, session_t *s)
{
    uint32_t len = 0;
    const uint8_t *p = sendq_peek(&s->sendq, &len);
    assert_non_null(p);
    assert_int_equal(io_send(f->env.loop, &s->io, p, len), 0);
}

/* The send completes whole: its bytes reach the client's socket (unread, so unacknowledged), and
 * the worker consumes them and tells the session layer. */
static void complete_send(fixture_t *f, session_t *s)
{
    uint32_t len = s->io.send_len;
    assert_true(io_send_busy(&s->io));
    assert_int_equal(write(s->io.fd, s->io.send_ptr, len), (ssize_t)len);
    s->io.send_ptr = NULL;
    sendq_consume(&s->sendq, &f->send_chunks, len);
    session_on_sent(&f->env, s);
}

static void fire(void *ctx, timer_node_t *t)
{
    fixture_t *f = ctx;
    session_on_deadline(&f->env, (session_t *)((char *)t - offsetof(session_t, timer)));
}

static void advance_ms(fixture_t *f, uint64_t ms)
{
    now_us += ms * 1000u;
    loop_clock_stale(&f->clock);
    timer_wheel_advance(&f->timers, loop_clock_ms(&f->clock), fire, f);
}

/* The queue holds exactly one KICK {why, text}. */
static void assert_kick_queued(const session_t *s, reason_t why, const char *text)
{
    size_t n = strlen(text);
    uint32_t len = 0;
    const uint8_t *p = sendq_peek(&s->sendq, &len);
    assert_non_null(p);
    assert_int_equal(len, FRAME_HEADER_BYTES + 2 + n);
    assert_int_equal(le_get_u16(p), len);
    assert_int_equal(le_get_u16(p + 2), OP_KICK);
    assert_int_equal(le_get_u16(p + 4), why);
    assert_memory_equal(p + 6, text, n);
}

static void assert_closed_once(const fixture_t *f, const session_t *s, io_close_mode_t mode, reason_t why)
{
    assert_int_equal(s->state, SESSION_CLOSING);
    assert_int_equal(f->loop.closes, 1);
    assert_ptr_equal(f->loop.closed[0], &s->io);
    assert_int_equal(f->loop.mode[0], mode);
    assert_int_equal(s->abortive, mode == IO_CLOSE_ABORT);
    assert_int_equal(s->close_reason, why);
}

/* The session stays in `waiting` for close_grace_ms, not a millisecond less, then is reset. */
static void assert_reset_at_close_grace(fixture_t *f, session_t *s, session_state_t waiting, reason_t why)
{
    advance_ms(f, GRACE_MS - 1);
    assert_int_equal(s->state, waiting);
    assert_int_equal(f->loop.closes, 0);
    advance_ms(f, 1);
    assert_closed_once(f, s, IO_CLOSE_ABORT, why);
}

/* ---- telling the client to go ---- */

static void kick_queues_the_kick_frame_and_starts_flushing(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    session_kick(&f->env, s, REASON_KICKED, "bye", 3);
    /* len 9, op 0x0020, reason 12 (kicked), "bye": little-endian on the wire. */
    const uint8_t want[] = { 9, 0, 0x20, 0, 12, 0, 'b', 'y', 'e' };
    uint32_t len = 0;
    const uint8_t *p = sendq_peek(&s->sendq, &len);
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(p, want, sizeof(want));
    assert_int_equal(s->state, SESSION_FLUSHING);
    assert_int_equal(s->close_reason, REASON_KICKED);
    assert_int_equal(f->outputs, 1);
    assert_ptr_equal(f->last_output, s);
    assert_int_equal(f->loop.closes, 0);
    assert_true(timer_armed(&s->timer));
}

static void kick_text_is_cut_to_the_protocol_maximum(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    char text[PROTO_KICK_TEXT_MAX + 50];
    memset(text, 'x', sizeof(text));
    session_kick(&f->env, s, REASON_KICKED, text, sizeof(text));
    uint32_t len = 0;
    const uint8_t *p = sendq_peek(&s->sendq, &len);
    assert_int_equal(len, FRAME_HEADER_BYTES + 2 + PROTO_KICK_TEXT_MAX);
    assert_int_equal(le_get_u16(p), len);
}

static void grace_deadline_resets_and_keeps_the_kick_reason(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    session_kick(&f->env, s, REASON_KICKED, "bye", 3);
    session_to_grace(&f->env, s);
    assert_int_equal(s->state, SESSION_GRACE);
    assert_reset_at_close_grace(f, s, SESSION_GRACE, REASON_KICKED);
}

static void acknowledged_notice_moves_flushing_to_grace(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    uint32_t unacked;
    if (sock_unacked_bytes(s->io.fd, &unacked) < 0)
        skip(); /* no SIOCOUTQ here: the layer starts the grace at once */
    session_kick(&f->env, s, REASON_KICKED, "bye", 3);
    start_send(f, s);
    complete_send(f, s);
    advance_ms(f, ACK_POLL_MS);
    assert_int_equal(s->state, SESSION_FLUSHING); /* sent, not yet taken by the client */
    uint8_t got[16];
    assert_int_equal(read(f->fds[0][1], got, sizeof(got)), 9);
    assert_int_equal(le_get_u16(got + 2), OP_KICK);
    advance_ms(f, ACK_POLL_MS);
    assert_int_equal(s->state, SESSION_GRACE);
    assert_int_equal(s->leave_ms, loop_clock_ms(&f->clock) + GRACE_MS);
    assert_int_equal(f->loop.closes, 0);
}

static void notice_never_acknowledged_is_reset_at_close_grace(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    session_kick(&f->env, s, REASON_KICKED, "bye", 3);
    assert_reset_at_close_grace(f, s, SESSION_FLUSHING, REASON_KICKED);
}

/* ---- the client closes first ---- */

static void peer_fin_with_nothing_owed_closes_normally_at_once(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    session_peer_closed(&f->env, s);
    assert_closed_once(f, s, IO_CLOSE_NORMAL, REASON_CLIENT_CLOSE);
    assert_false(timer_armed(&s->timer));
}

static void peer_fin_while_output_owed_drains_then_closes_normally(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    assert_int_equal(session_send(&f->env, s, OP_ECHO, "hi", 2), 0);
    start_send(f, s);
    session_peer_closed(&f->env, s);
    assert_int_equal(s->state, SESSION_DRAINING);
    assert_int_equal(s->close_reason, REASON_CLIENT_CLOSE);
    assert_int_equal(f->loop.closes, 0);
    complete_send(f, s);
    assert_closed_once(f, s, IO_CLOSE_NORMAL, REASON_CLIENT_CLOSE);
    const uint8_t want[] = { 6, 0, OP_ECHO, 0, 'h', 'i' };
    assert_int_equal(f->loop.wire_len, sizeof(want));
    assert_memory_equal(f->loop.wire, want, sizeof(want));
}

static void draining_client_that_takes_nothing_is_reset_at_close_grace(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    assert_int_equal(session_send(&f->env, s, OP_ECHO, "hi", 2), 0);
    session_peer_closed(&f->env, s);
    assert_reset_at_close_grace(f, s, SESSION_DRAINING, REASON_CLIENT_CLOSE);
}

static void peer_fin_after_a_kick_sends_the_kick_then_closes_normally_with_its_reason(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    session_kick(&f->env, s, REASON_IDLE_TIMEOUT, "idle", 4);
    uint64_t leave = s->leave_ms;
    session_peer_closed(&f->env, s);
    assert_int_equal(s->state, SESSION_DRAINING);
    assert_int_equal(s->leave_ms, leave);
    start_send(f, s);
    complete_send(f, s);
    assert_closed_once(f, s, IO_CLOSE_NORMAL, REASON_IDLE_TIMEOUT);
}

/* ---- deadlines in the live states ---- */

static void login_deadline_resets_an_open_session_without_notice(void **state)
{
    fixture_t *f = *state;
    session_t *s = open_session(f);
    assert_non_null(s);
    advance_ms(f, LOGIN_MS - 1);
    assert_int_equal(s->state, SESSION_OPEN);
    assert_int_equal(f->loop.closes, 0);
    advance_ms(f, 1);
    assert_closed_once(f, s, IO_CLOSE_ABORT, REASON_LOGIN_TIMEOUT);
    assert_int_equal(s->sendq.bytes, 0);
    assert_int_equal(f->outputs, 0);
}

static void idle_deadline_kicks_a_logged_in_session_with_notice(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    advance_ms(f, IDLE_MS - 1);
    assert_int_equal(s->state, SESSION_LOGGED_IN);
    assert_int_equal(f->outputs, 0);
    advance_ms(f, 1);
    assert_int_equal(s->state, SESSION_FLUSHING);
    assert_int_equal(s->close_reason, REASON_IDLE_TIMEOUT);
    assert_kick_queued(s, REASON_IDLE_TIMEOUT, "idle timeout");
    assert_int_equal(f->outputs, 1);
    assert_int_equal(f->loop.closes, 0);
}

static void traffic_since_arming_moves_the_idle_deadline(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    advance_ms(f, 3000);
    s->last_recv_ms = loop_clock_ms(&f->clock); /* what the worker notes on a read */
    advance_ms(f, IDLE_MS - 3000);
    assert_int_equal(s->state, SESSION_LOGGED_IN);
    assert_true(timer_armed(&s->timer));
    assert_int_equal(s->timer.expires_ms, START_MS + 3000 + IDLE_MS);
    advance_ms(f, 3000);
    assert_int_equal(s->state, SESSION_FLUSHING);
    assert_int_equal(s->close_reason, REASON_IDLE_TIMEOUT);
}

/* ---- the send queue ---- */

static void send_on_a_full_queue_resets_as_slow_reader(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    uint8_t payload[100] = { 0 };
    assert_int_equal(session_send(&f->env, s, OP_ECHO, payload, sizeof(payload)), 0);
    assert_int_equal(session_send(&f->env, s, OP_ECHO, payload, sizeof(payload)), 0);
    assert_int_equal(session_send(&f->env, s, OP_ECHO, payload, sizeof(payload)), -EPIPE);
    assert_closed_once(f, s, IO_CLOSE_ABORT, REASON_SLOW_READER);
    assert_int_equal(f->outputs, 2);
    assert_int_equal(session_send(&f->env, s, OP_ECHO, payload, 1), -EPIPE);
    assert_int_equal(f->loop.closes, 1);
    assert_int_equal(f->outputs, 2);
}

static void queued_chunks_go_back_to_the_pool_only_when_freed(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    assert_int_equal(session_send(&f->env, s, OP_ECHO, "hi", 2), 0);
    session_abort(&f->env, s, REASON_KICKED);
    assert_int_equal(f->send_chunks.in_use, 1); /* a cancelled send may still be reading it */
    session_to_free(&f->env, s);
    assert_int_equal(f->send_chunks.in_use, 0);
}

/* ---- the table ---- */

static void to_free_calls_ended_once_and_the_old_id_finds_nothing(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    uint32_t id = s->id;
    session_abort(&f->env, s, REASON_KICKED);
    assert_int_equal(f->ended, 0);
    session_to_free(&f->env, s);
    assert_int_equal(f->ended, 1);
    assert_int_equal(f->ended_id, id);
    assert_int_equal(f->ended_state, SESSION_CLOSING);
    assert_int_equal(s->state, SESSION_FREE);
    assert_null(session_table_find(&f->table, id));
    assert_int_equal(f->table.active, 0);
    session_to_free(&f->env, s); /* FREE already: nothing */
    assert_int_equal(f->ended, 1);
}

static void freed_slots_are_reused_first_in_first_out_with_a_new_generation(void **state)
{
    fixture_t *f = *state;
    session_t *a = open_session(f), *b = open_session(f), *c = open_session(f);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    uint32_t a_id = a->id, b_id = b->id;
    session_abort(&f->env, a, REASON_KICKED);
    session_to_free(&f->env, a);
    session_abort(&f->env, b, REASON_KICKED);
    session_to_free(&f->env, b);
    session_t *d = open_session(f), *e = open_session(f);
    assert_ptr_equal(d, a); /* the slot freed first */
    assert_ptr_equal(e, b);
    assert_int_equal(d->id & SESSION_INDEX_MASK, a_id & SESSION_INDEX_MASK);
    assert_int_equal(d->id >> SESSION_INDEX_BITS, (a_id >> SESSION_INDEX_BITS) + 1);
    assert_null(session_table_find(&f->table, a_id));
    assert_null(session_table_find(&f->table, b_id));
    assert_ptr_equal(session_table_find(&f->table, d->id), d);
    assert_ptr_equal(session_table_find(&f->table, e->id), e);
    assert_int_equal(d->state, SESSION_OPEN);
}

static void open_on_a_full_table_returns_null(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < SLOTS; i++)
        assert_non_null(open_session(f));
    assert_null(open_session(f));
    assert_int_equal(f->table.active, SLOTS);
    assert_int_equal(f->loop.attached, SLOTS);
}

/* ---- transitions the machine does not have ---- */

static void transition_from_a_wrong_state_changes_nothing(void **state)
{
    fixture_t *f = *state;
    session_t *s = open_session(f);
    assert_non_null(s);
    session_t before;
    memcpy(&before, s, sizeof(before));
    session_to_grace(&f->env, s);   /* GRACE comes only from FLUSHING */
    session_to_free(&f->env, s);    /* FREE only from CLOSING */
    session_on_sent(&f->env, s);    /* closes only a DRAINING session */
    assert_memory_equal(s, &before, sizeof(before));
    assert_int_equal(f->ended, 0);
    assert_ptr_equal(session_table_find(&f->table, s->id), s);
    assert_int_equal(session_to_logged_in(&f->env, s), 0);
    assert_int_equal(session_to_logged_in(&f->env, s), -EINVAL);
    assert_int_equal(s->state, SESSION_LOGGED_IN);
    assert_int_equal(f->loop.closes, 0);
}

static void session_told_to_go_takes_no_second_notice(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    session_kick(&f->env, s, REASON_KICKED, "bye", 3);
    session_to_grace(&f->env, s);
    uint32_t queued = s->sendq.bytes;
    session_kick(&f->env, s, REASON_SHUTDOWN, "again", 5);
    session_to_flushing(&f->env, s, REASON_SHUTDOWN);
    assert_int_equal(s->state, SESSION_GRACE);
    assert_int_equal(s->close_reason, REASON_KICKED);
    assert_int_equal(s->sendq.bytes, queued);
    assert_int_equal(f->outputs, 1);
}

static void closing_session_is_closed_only_once(void **state)
{
    fixture_t *f = *state;
    session_t *s = logged_in_session(f);
    session_abort(&f->env, s, REASON_BAD_FRAME);
    session_close(&f->env, s, REASON_CLIENT_CLOSE);
    session_abort(&f->env, s, REASON_FLOOD);
    session_peer_closed(&f->env, s);
    advance_ms(f, IDLE_MS);
    assert_closed_once(f, s, IO_CLOSE_ABORT, REASON_BAD_FRAME);
    assert_int_equal(session_to_logged_in(&f->env, s), -EINVAL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(kick_queues_the_kick_frame_and_starts_flushing),
        T(kick_text_is_cut_to_the_protocol_maximum),
        T(grace_deadline_resets_and_keeps_the_kick_reason),
        T(acknowledged_notice_moves_flushing_to_grace),
        T(notice_never_acknowledged_is_reset_at_close_grace),
        T(peer_fin_with_nothing_owed_closes_normally_at_once),
        T(peer_fin_while_output_owed_drains_then_closes_normally),
        T(draining_client_that_takes_nothing_is_reset_at_close_grace),
        T(peer_fin_after_a_kick_sends_the_kick_then_closes_normally_with_its_reason),
        T(login_deadline_resets_an_open_session_without_notice),
        T(idle_deadline_kicks_a_logged_in_session_with_notice),
        T(traffic_since_arming_moves_the_idle_deadline),
        T(send_on_a_full_queue_resets_as_slow_reader),
        T(queued_chunks_go_back_to_the_pool_only_when_freed),
        T(to_free_calls_ended_once_and_the_old_id_finds_nothing),
        T(freed_slots_are_reused_first_in_first_out_with_a_new_generation),
        T(open_on_a_full_table_returns_null),
        T(transition_from_a_wrong_state_changes_nothing),
        T(session_told_to_go_takes_no_second_notice),
        T(closing_session_is_closed_only_once),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* io contract (platform/io.h): the same named tests run against every backend in io_backends[]
 * whose probe succeeds, each backend in its own process, on real loopback sockets, everything on
 * the main thread (io_uring's SINGLE_ISSUER ring must be used by the thread that made it).
 * GSKEL_IO_BACKEND=name runs one backend; GSKEL_IO_SKIP=pattern skips tests (under valgrind, skip
 * wake_from_another_thread* for io_uring: valgrind runs one thread at a time and does not let
 * go of it inside io_uring_enter, so the waker never runs; it also cannot see the kernel fill
 * io_uring's provided buffers, so it reports the received bytes as uninitialised). */
#include "io_contract_util.h"

const io_backend_ops_t *g_backend;

/* ---- accept and receive ---- */

static void accept_delivers_nonblocking_fd_and_peer_address(void **state)
{
    fixture_t *f = *state;
    int c = client_connect(f, 0);
    RUN_UNTIL(f, count_of(f, IO_ACCEPTED, &f->listener) >= 1);
    const rec_t *r = first_from(f, 0, IO_ACCEPTED, &f->listener);
    assert_int_equal(r->res, 0);
    assert_true(r->accepted_fd >= 0);
    int fl = fcntl(r->accepted_fd, F_GETFL);
    assert_true(fl >= 0 && (fl & O_NONBLOCK));
    assert_int_equal(r->peer_family, AF_INET);
    assert_int_equal(r->peer_addr4, htonl(INADDR_LOOPBACK));
    assert_int_equal(r->peer_port, local_port(c));
    assert_int_equal(count_of(f, IO_ACCEPTED, NULL), 1);
}

/* The address is the connection's, known at accept time, whatever the peer did since. */
/* io.h: a connection reset before it was accepted is still delivered (its end must be seen),
 * with its address where the backend can still read it, else with an empty peer. */
static void accept_delivers_a_connection_already_reset_with_its_address_or_none(void **state)
{
    fixture_t *f = *state;
    int c = client_connect(f, 0);
    int port = local_port(c);
    client_reset(f, c); /* before the loop first runs: it waits, reset, in the accept queue */
    RUN_UNTIL(f, count_of(f, IO_ACCEPTED, &f->listener) >= 1);
    const rec_t *r = first_from(f, 0, IO_ACCEPTED, &f->listener);
    assert_int_equal(r->res, 0);
    if (r->peer_family != 0) {
        assert_int_equal(r->peer_family, AF_INET);
        assert_int_equal(r->peer_port, port);
    }
}

static void recv_delivers_every_byte_in_order_across_many_sends(void **state)
{
    enum { TOTAL = 1 << 20, MAX_PIECE = 4096 };
    fixture_t *f = *state;
    io_handle_t *h;
    int c = conn_accept(f, 0, 1, 0, &h);
    assert_int_equal(io_recv_start(f->loop, h), 0);
    uint8_t *src = pattern_new(TOTAL, 0x5eed);
    uint32_t seed = 12345;
    size_t sent = 0, sends = 0;
    for (int turn = 0; turn < TURNS && f->rx_len < TOTAL; turn++) {
        while (sent < TOTAL) {
            size_t piece = 1 + rng_next(&seed) % MAX_PIECE;
            if (piece > TOTAL - sent) piece = TOTAL - sent;
            ssize_t n = send(c, src + sent, piece, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            assert_true(n > 0);
            sent += (size_t)n;
            sends++;
        }
        fx_turn(f, TURN_MS);
    }
    assert_true(sends > 100);
    assert_int_equal(f->rx_len, TOTAL);
    assert_memory_equal(f->rx, src, TOTAL);
    for (size_t i = 0; i < f->nrecs; i++)
        if (f->recs[i].kind == IO_RECEIVED)
            assert_in_range(f->recs[i].res, 1, RECV_BUFFER_BYTES);
    free(src);
}

/* The peer ends its side (how: shutdown or close); one IO_RECEIVED res 0 follows the data. */
static void end_of_stream_arrives_once(fixture_t *f, bool by_close)
{
    io_handle_t *h;
    int c = conn_accept(f, 0, 1, 0, &h);
    assert_int_equal(io_recv_start(f->loop, h), 0);
    client_send_all(c, "hello", 5);
    if (by_close) client_close(f, c);
    else assert_int_equal(shutdown(c, SHUT_WR), 0);
    RUN_UNTIL(f, count_res(f, IO_RECEIVED, h, 0) >= 1);
    run_quiet(f);
    assert_int_equal(count_res(f, IO_RECEIVED, h, 0), 1);
    const rec_t *last = &f->recs[f->nrecs - 1];
    assert_int_equal(last->kind, IO_RECEIVED);
    assert_int_equal(last->res, 0);
    assert_int_equal(f->rx_len, 5);
    assert_memory_equal(f->rx, "hello", 5);
}

static void peer_shutdown_delivers_end_of_stream_once(void **state) { end_of_stream_arrives_once(*state, false); }

static void peer_close_delivers_end_of_stream_once(void **state) { end_of_stream_arrives_once(*state, true); }

/* ---- send ---- */

static void send_completion_is_never_delivered_inside_io_send(void **state)
{
    fixture_t *f = *state;
    io_handle_t *h;
    int c = conn_accept(f, 0, 1, 0, &h);
    static const uint8_t msg[] = "ping";
    assert_int_equal(io_send(f->loop, h, msg, 4), 0);
    assert_int_equal(count_of(f, IO_SENT, h), 0);
    RUN_UNTIL(f, count_of(f, IO_SENT, h) == 1);
    assert_int_equal(first_from(f, 0, IO_SENT, h)->res, 4);
    uint8_t got[4];
    assert_int_equal(client_read_wait(c, got, 4), 4);
    assert_memory_equal(got, msg, 4);
}

static void send_results_sum_to_the_bytes_asked(void **state)
{
    enum { TOTAL = 4 << 20 };
    fixture_t *f = *state;
    io_handle_t *h;
    int c = conn_accept(f, 0, 1, 0, &h);
    int small = 32 * 1024; /* a small send buffer makes short sends likely */
    assert_int_equal(setsockopt(h->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    uint8_t *src = pattern_new(TOTAL, 77), *in = malloc(TOTAL);
    assert_non_null(in);
    size_t from = f->nrecs;
    size_t got = pump_send(f, h, src, TOTAL, c, in, 64 * 1024, TURNS);
    assert_int_equal(got, TOTAL);
    RUN_UNTIL(f, !io_send_busy(h));
    assert_int_equal(sent_from(f, from, h), TOTAL);
    assert_memory_equal(in, src, TOTAL);
    print_message("    %zu IO_SENT for %d bytes\n", count_from(f, from, IO_SENT, h), TOTAL);
    free(src);
    free(in);
}

static void send_busy_from_io_send_until_its_sent_is_delivered(void **state)
{
    enum { LEN = 256 * 1024 };
    fixture_t *f = *state;
    io_handle_t *h;
    int c = conn_accept(f, 0, 1, 0, &h);
    assert_int_equal(io_recv_start(f->loop, h), 0);
    uint8_t *src = pattern_new(LEN, 3), *in = malloc(LEN);
    assert_non_null(in);
    assert_false(io_send_busy(h));
    size_t from = f->nrecs;
    assert_int_equal(io_send(f->loop, h, src, LEN), 0);
    assert_true(io_send_busy(h));
    /* Something for h to receive in the same turns, so other callbacks run while it is busy. */
    client_send_all(c, "x", 1);
    size_t got = 0;
    for (int turn = 0; turn < TURNS && count_from(f, from, IO_SENT, h) == 0; turn++) {
        assert_true(io_send_busy(h));
        ssize_t n = client_read_now(c, in + got, LEN - got);
        assert_true(n >= 0);
        got += (size_t)n;
        fx_turn(f, TURN_MS);
    }
    const rec_t *sent = first_from(f, from, IO_SENT, h);
    assert_non_null(sent);
    for (const rec_t *r = &f->recs[from]; r < sent; r++)
        if (r->handle == h) assert_true(r->busy); /* delivered before the IO_SENT: still busy */
    assert_false(sent->busy); /* being delivered: the callback may start the next send */
    assert_false(io_send_busy(h));
    free(src);
    free(in);
}

static void second_send_while_busy_is_ebusy(void **state)
{
    fixture_t *f = *state;
    io_handle_t *h;
    int c = conn_accept(f, 0, 1, 0, &h);
    static const uint8_t one[] = "first", two[] = "second";
    assert_int_equal(io_send(f->loop, h, one, 5), 0);
    assert_int_equal(io_send(f->loop, h, two, 6), -EBUSY);
    RUN_UNTIL(f, count_of(f, IO_SENT, h) == 1);
    run_quiet(f);
    assert_int_equal(count_of(f, IO_SENT, h), 1);
    assert_int_equal(first_from(f, 0, IO_SENT, h)->res, 5);
    assert_int_equal(io_send(f->loop, h, two, 6), 0);
    RUN_UNTIL(f, count_of(f, IO_SENT, h) == 2);
    uint8_t got[11];
    assert_int_equal(client_read_wait(c, got, sizeof got), 11);
    assert_memory_equal(got, "firstsecond", 11);
}

static void large_send_to_idle_peer_stays_in_flight_and_abort_completes(void **state)
{
    enum { LEN = 16 << 20 };
    fixture_t *f = *state;
    io_handle_t *h;
    (void)conn_accept(f, 0, 1, 16 * 1024, &h);
    uint8_t *src = pattern_new(LEN, 9);
    size_t from = f->nrecs;
    (void)pump_send(f, h, src, LEN, -1, NULL, 0, 100);
    if (!io_send_busy(h)) {
        size_t done = (size_t)sent_from(f, from, h);
        assert_true(done < LEN);
        assert_int_equal(io_send(f->loop, h, src + done, (uint32_t)(LEN - done)), 0);
    }
    assert_true(io_send_busy(h));
    assert_true(sent_from(f, from, h) < LEN);
    for (size_t i = from; i < f->nrecs; i++)
        if (f->recs[i].kind == IO_SENT) assert_true(f->recs[i].res < LEN);
    size_t at_close = f->nrecs;
    assert_int_equal(io_close(f->loop, h, IO_CLOSE_ABORT), 0);
    RUN_UNTIL(f, count_from(f, at_close, IO_CLOSED, h) == 1);
    run_quiet(f);
    assert_int_equal(count_from(f, at_close, -1, h), 1);
    assert_int_equal(count_from(f, at_close, IO_CLOSED, h), 1);
    free(src); /* only now: the kernel may read it until IO_CLOSED */
}

/* ---- close ---- */

static void closed_is_never_delivered_inside_io_close(void **state)
{
    fixture_t *f = *state;
    io_handle_t *h;
    (void)conn_accept(f, 0, 1, 0, &h); /* nothing armed: the close can finish at once */
    assert_int_equal(io_close(f->loop, h, IO_CLOSE_NORMAL), 0);
    assert_int_equal(count_of(f, IO_CLOSED, h), 0);
    RUN_UNTIL(f, count_of(f, IO_CLOSED, h) == 1);
}

/* io_close while data keeps arriving and a send is in flight: IO_CLOSED is h's only completion
 * from then on, exactly once. */
static void close_is_the_only_completion_after_io_close(fixture_t *f, io_close_mode_t mode)
{
    io_handle_t *h;
    int c = conn_accept(f, 0, 1, 0, &h);
    assert_int_equal(io_recv_start(f->loop, h), 0);
    client_send_byte_run(c, 'a', 1000);
    RUN_UNTIL(f, count_of(f, IO_RECEIVED, h) >= 1);
    static const uint8_t reply[] = "reply";
    assert_int_equal(io_send(f->loop, h, reply, 5), 0);
    client_send_byte_run(c, 'b', 3000);
    size_t at_close = f->nrecs;
    assert_int_equal(io_close(f->loop, h, mode), 0);
    for (int i = 0; i < 5; i++) {
        (void)send(c, "more", 4, MSG_NOSIGNAL | MSG_DONTWAIT); /* may fail once the RST is in */
        fx_turn(f, TURN_MS);
    }
    RUN_UNTIL(f, count_from(f, at_close, IO_CLOSED, h) == 1);
    run_quiet(f);
    assert_int_equal(count_from(f, at_close, -1, h), 1);
    assert_int_equal(count_from(f, at_close, IO_CLOSED, h), 1);
    assert_int_equal(h->state, IO_HANDLE_CLOSED);
}

static void normal_close_delivers_only_one_closed(void **state)
{
    close_is_the_only_completion_after_io_close(*state, IO_CLOSE_NORMAL);
}

static void abort_close_delivers_only_one_closed(void **state)
{
    close_is_the_only_completion_after_io_close(*state, IO_CLOSE_ABORT);
}

static bool close_on_first_receive(fixture_t *f, const io_event_t *ev)
{
    if (ev->kind == IO_RECEIVED && ev->handle == f->hook_arg && ev->handle->state == IO_HANDLE_ACTIVE) {
        int rc = io_close(f->loop, ev->handle, IO_CLOSE_ABORT);
        if (rc != 0) hook_fail(f, "io_close in callback: %d", rc);
    }
    return false;
}

static void close_inside_receive_callback_stops_later_receives(void **state)
{
    fixture_t *f = *state;
    io_handle_t *h;
    int c = conn_accept(f, 0, 1, 0, &h);
    f->hook = close_on_first_receive;
    f->hook_arg = h;
    /* Many pieces before the loop runs: io_uring has several completions for h in one batch. */
    for (int i = 0; i < 64; i++) client_send_byte_run(c, 'z', 1000);
    assert_int_equal(io_recv_start(f->loop, h), 0);
    RUN_UNTIL(f, count_of(f, IO_CLOSED, h) == 1);
    run_quiet(f);
    assert_string_equal(f->hook_error, "");
    assert_int_equal(count_of(f, IO_RECEIVED, h), 1);
    assert_int_equal(count_of(f, IO_CLOSED, h), 1);
    assert_int_equal(count_of(f, -1, h), 2);
}

/* Closes h (recv armed) and returns what the peer's next recv says: bytes, 0, or -errno. */
static int peer_sees_after_close(fixture_t *f, io_close_mode_t mode)
{
    io_handle_t *h;
    int c = conn_accept(f, 0, 1, 0, &h);
    assert_int_equal(io_recv_start(f->loop, h), 0);
    assert_int_equal(io_close(f->loop, h, mode), 0);
    RUN_UNTIL(f, count_of(f, IO_CLOSED, h) == 1);
    uint8_t b;
    return (int)client_read_wait(c, &b, 1);
}

static void abort_close_makes_peer_see_connection_reset(void **state)
{
    assert_int_equal(peer_sees_after_close(*state, IO_CLOSE_ABORT), -ECONNRESET);
}

static void normal_close_makes_peer_see_end_of_stream(void **state)
{
    assert_int_equal(peer_sees_after_close(*state, IO_CLOSE_NORMAL), 0);
}

static void close_after_peer_closed_delivers_one_closed(void **state)
{
    fixture_t *f = *state;
    io_handle_t *h;
    int c = conn_accept(f, 0, 1, 0, &h);
    assert_int_equal(io_recv_start(f->loop, h), 0);
    client_close(f, c);
    RUN_UNTIL(f, count_of(f, IO_RECEIVED, h) == 1);
    size_t at_close = f->nrecs;
    assert_int_equal(io_close(f->loop, h, IO_CLOSE_NORMAL), 0);
    RUN_UNTIL(f, count_of(f, IO_CLOSED, h) == 1);
    run_quiet(f);
    assert_int_equal(count_from(f, at_close, -1, h), 1);
}

static void close_after_peer_reset_delivers_one_closed(void **state)
{
    fixture_t *f = *state;
    io_handle_t *h;
    int c = conn_accept(f, 0, 1, 0, &h);
    assert_int_equal(io_recv_start(f->loop, h), 0);
    client_reset(f, c);
    RUN_UNTIL(f, count_of(f, IO_RECEIVED, h) >= 1);
    assert_true(first_from(f, 0, IO_RECEIVED, h)->res <= 0); /* the stream is over either way */
    size_t at_close = f->nrecs;
    assert_int_equal(io_close(f->loop, h, IO_CLOSE_ABORT), 0);
    RUN_UNTIL(f, count_of(f, IO_CLOSED, h) == 1);
    run_quiet(f);
    assert_int_equal(count_from(f, at_close, -1, h), 1);
}

static void second_close_is_ealready_and_closed_arrives_once(void **state)
{
    fixture_t *f = *state;
    io_handle_t *h;
    (void)conn_accept(f, 0, 1, 0, &h);
    assert_int_equal(io_recv_start(f->loop, h), 0);
    assert_int_equal(io_close(f->loop, h, IO_CLOSE_NORMAL), 0);
    assert_int_equal(io_close(f->loop, h, IO_CLOSE_ABORT), -EALREADY);
    RUN_UNTIL(f, count_of(f, IO_CLOSED, h) == 1);
    assert_int_equal(io_close(f->loop, h, IO_CLOSE_NORMAL), -EALREADY);
    run_quiet(f);
    assert_int_equal(count_of(f, IO_CLOSED, h), 1);
}

/* ---- wake ---- */

static void wake_from_another_thread_ends_a_blocking_wait(void **state)
{
    fixture_t *f = *state;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wake_later, f->loop), 0);
    run_blocking_until_woken(f);
    void *rc;
    pthread_join(t, &rc);
    assert_int_equal((intptr_t)rc, 0);
}

static void wake_before_the_wait_is_not_lost(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(io_wake(f->loop), 0);
    run_blocking_until_woken(f);
}

/* ---- the loop itself ---- */

static void run_once_returns_the_number_of_events_delivered(void **state)
{
    fixture_t *f = *state;
    int c[3];
    io_handle_t *h[3];
    for (int i = 0; i < 3; i++) c[i] = client_connect(f, 0);
    for (int i = 0; i < TURNS && count_of(f, IO_ACCEPTED, NULL) < 3; i++) turn_counted(f, "3 accepts");
    for (size_t i = 0; i < 3; i++) {
        h[i] = conn_attach(f, i, take_accepted(f), 1);
        assert_int_equal(io_recv_start(f->loop, h[i]), 0);
        client_send_all(c[i], "data", 4);
    }
    for (int i = 0; i < TURNS && count_of(f, IO_RECEIVED, NULL) < 3; i++) turn_counted(f, "3 receives");
    for (size_t i = 0; i < 3; i++) assert_int_equal(io_close(f->loop, h[i], IO_CLOSE_ABORT), 0);
    for (int i = 0; i < TURNS && count_of(f, IO_CLOSED, NULL) < 3; i++) turn_counted(f, "3 closes");
    assert_int_equal(count_of(f, IO_CLOSED, NULL), 3);
}

/* ---- many sessions, reuse ---- */

static void five_hundred_connections_echo_once_then_all_close(void **state)
{
    fixture_t *f = *state;
    static struct { int fd; char out[ECHO_LEN]; uint8_t in[ECHO_LEN]; size_t got; } cl[ECHO_CONNS];
    size_t next_slot = 0, echoed = 0;
    f->hook = echo_server;
    f->hook_arg = &next_slot;
    for (size_t i = 0; i < ECHO_CONNS; i++) {
        cl[i].fd = client_connect(f, 0);
        cl[i].got = 0;
        snprintf(cl[i].out, ECHO_LEN, "client %08zu", i); /* 15 chars and the NUL: ECHO_LEN */
        client_send_all(cl[i].fd, cl[i].out, ECHO_LEN);
    } /* all queued before the loop runs: one burst of accepts and receives */
    for (int turn = 0; turn < TURNS && echoed < ECHO_CONNS; turn++) {
        fx_turn(f, TURN_MS);
        for (size_t i = 0; i < ECHO_CONNS; i++) {
            if (cl[i].got == ECHO_LEN) continue;
            ssize_t n = client_read_now(cl[i].fd, cl[i].in + cl[i].got, ECHO_LEN - cl[i].got);
            assert_true(n >= 0);
            cl[i].got += (size_t)n;
            echoed += cl[i].got == ECHO_LEN;
        }
    }
    assert_string_equal(f->hook_error, "");
    assert_int_equal(next_slot, ECHO_CONNS);
    assert_int_equal(echoed, ECHO_CONNS);
    for (size_t i = 0; i < ECHO_CONNS; i++) {
        assert_memory_equal(cl[i].in, cl[i].out, ECHO_LEN);
        client_close(f, cl[i].fd);
    }
    RUN_UNTIL(f, count_of(f, IO_CLOSED, NULL) == ECHO_CONNS);
    assert_string_equal(f->hook_error, "");
    for (size_t i = 0; i < ECHO_CONNS; i++) {
        assert_false(f->conns[i].open);
        assert_int_equal(count_of(f, IO_CLOSED, &f->conns[i].h), 1);
        assert_int_equal(f->conns[i].sent, ECHO_LEN);
    }
    size_t before = f->nrecs;
    for (int i = 0; i < 3; i++) assert_int_equal(io_run_once(f->loop, 0), 0);
    assert_int_equal(f->nrecs, before);
}

typedef struct reuse {
    io_handle_t *h;
    sock_t next_fd;
    int attach_rc, recv_rc;
} reuse_t;

static bool reattach_on_closed(fixture_t *f, const io_event_t *ev)
{
    reuse_t *r = f->hook_arg;
    if (ev->kind == IO_CLOSED && ev->handle == r->h && ev->handle->user == 1) {
        r->attach_rc = conn_attach(f, 0, r->next_fd, 2) ? 0 : -1;
        r->recv_rc = io_recv_start(f->loop, r->h);
    }
    return false;
}

static void handle_reused_right_after_closed_gets_nothing_stale(void **state)
{
    fixture_t *f = *state;
    reuse_t r = { .attach_rc = 1, .recv_rc = 1 };
    int old = conn_accept(f, 0, 1, 0, &r.h);
    int fresh = client_connect(f, 0);
    r.next_fd = take_accepted(f);
    assert_int_equal(io_recv_start(f->loop, r.h), 0);
    client_send_byte_run(old, 'O', 2000);
    RUN_UNTIL(f, count_of(f, IO_RECEIVED, r.h) >= 1);
    /* Stale candidates: a send and more data, both in flight at the close. */
    static const uint8_t stale[] = "stale";
    assert_int_equal(io_send(f->loop, r.h, stale, 5), 0);
    client_send_byte_run(old, 'O', 3000);
    f->hook = reattach_on_closed;
    f->hook_arg = &r;
    size_t at_close = f->nrecs;
    assert_int_equal(io_close(f->loop, r.h, IO_CLOSE_ABORT), 0);
    RUN_UNTIL(f, r.attach_rc != 1);
    assert_int_equal(r.attach_rc, 0);
    assert_int_equal(r.recv_rc, 0);
    client_send_byte_run(fresh, 'N', 3000);
    RUN_UNTIL(f, received_by(f, r.h, 2) >= 3000);
    run_quiet(f);
    const rec_t *closed = first_from(f, at_close, IO_CLOSED, r.h);
    assert_non_null(closed);
    assert_int_equal(closed->user, 1);
    for (const rec_t *e = &f->recs[at_close]; e < &f->recs[f->nrecs]; e++) {
        if (e->handle != r.h || e == closed) continue;
        assert_int_equal(e->user, 2); /* nothing from the first life after its IO_CLOSED */
        assert_int_equal(e->kind, IO_RECEIVED);
        assert_true(e->res > 0);
        for (int32_t i = 0; i < e->res; i++) assert_int_equal(f->rx[e->data_off + (size_t)i], 'N');
    }
    assert_int_equal(received_by(f, r.h, 2), 3000);
}

/* Frees heap handles at their IO_CLOSED. To close some in the same turn as their receive ran
 * out of buffers (io_uring's ENOBUFS: a re-arm is owed), a callback of that turn closes an idle
 * trigger; its IO_CLOSED, at the end of the turn, closes every heap handle. */
static bool free_heap_handles_on_closed(fixture_t *f, const io_event_t *ev)
{
    io_handle_t *trigger = f->hook_arg;
    if (ev->kind == IO_RECEIVED && ev->res > 0 && trigger->state == IO_HANDLE_IDLE) {
        io_close(f->loop, trigger, IO_CLOSE_NORMAL);
    } else if (ev->kind == IO_CLOSED && ev->handle == trigger) {
        for (size_t i = 0; i < HEAP_HANDLES; i++)
            if (f->heap[i] && io_close(f->loop, f->heap[i], IO_CLOSE_ABORT) != 0) hook_fail(f, "close heap %zu", i);
    } else if (ev->kind == IO_CLOSED) {
        for (size_t i = 0; i < HEAP_HANDLES; i++)
            if (f->heap[i] == ev->handle) {
                free(f->heap[i]);
                f->heap[i] = NULL;
            }
    }
    return false;
}

/* The contract lets the memory go at IO_CLOSED. A read of it afterwards shows under the ASan
 * build (GSKEL_SANITIZE) or valgrind; the plain build cannot see it. */
static void handle_memory_freed_at_closed_is_never_read_again(void **state)
{
    fixture_t *f = *state;
    int c[HEAP_HANDLES];
    for (size_t i = 0; i < HEAP_HANDLES; i++) {
        c[i] = client_connect(f, 0);
        f->heap[i] = calloc(1, sizeof(io_handle_t));
        assert_non_null(f->heap[i]);
        assert_int_equal(io_attach(f->loop, f->heap[i], take_accepted(f), (uint32_t)i + 1), 0);
        assert_int_equal(io_recv_start(f->loop, f->heap[i]), 0);
    }
    io_handle_t *trigger;
    (void)conn_accept(f, 0, 0, 0, &trigger);
    run_quiet(f); /* every receive armed, nothing to read yet */
    f->hook = free_heap_handles_on_closed;
    f->hook_arg = trigger;
    for (size_t i = 0; i < HEAP_HANDLES; i++) client_send_all(c[i], "burst", 5); /* more than RECV_BUFFERS */
    RUN_UNTIL(f, count_of(f, IO_CLOSED, NULL) == HEAP_HANDLES + 1);
    run_quiet(f);
    assert_string_equal(f->hook_error, "");
    for (size_t i = 0; i < HEAP_HANDLES; i++) assert_null(f->heap[i]);
}

/* ---- the cost of a close ---- */

enum { CLOSE_KINDS = 4, OTHERS = 300, BLOCKED_SEND_BYTES = 1 << 20 };

/* One close of each kind a kick storm or a shutdown makes: an idle handle, a receive armed and
 * reset (abort), a receive armed and closed normally, and a reset with a send blocked in the
 * kernel. Slots 0..3; the clients stay open and do not read (the last one's window is small). */
static void open_close_targets(fixture_t *f, io_handle_t *t[CLOSE_KINDS], const uint8_t *big)
{
    for (size_t i = 0; i < CLOSE_KINDS; i++) {
        (void)conn_accept(f, i, 100 + (uint32_t)i, i == 3 ? 16 * 1024 : 0, &t[i]);
        if (i > 0) assert_int_equal(io_recv_start(f->loop, t[i]), 0);
    }
    /* Sends until one stays in flight: both buffers are full and the peer does not read. */
    int small = 16 * 1024;
    assert_int_equal(setsockopt(t[3]->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    size_t from = f->nrecs;
    (void)pump_send(f, t[3], big, BLOCKED_SEND_BYTES, -1, NULL, 0, QUIET_TURNS);
    if (!io_send_busy(t[3])) {
        size_t done = (size_t)sent_from(f, from, t[3]);
        assert_true(done < BLOCKED_SEND_BYTES);
        assert_int_equal(io_send(f->loop, t[3], big + done, (uint32_t)(BLOCKED_SEND_BYTES - done)), 0);
    }
    run_quiet(f);
    assert_true(io_send_busy(t[3]));
}

static void close_targets(fixture_t *f, io_handle_t *t[CLOSE_KINDS])
{
    static const io_close_mode_t mode[CLOSE_KINDS] = { IO_CLOSE_NORMAL, IO_CLOSE_ABORT, IO_CLOSE_NORMAL, IO_CLOSE_ABORT };
    for (size_t i = 0; i < CLOSE_KINDS; i++)
        if (io_close(f->loop, t[i], mode[i]) != 0) hook_fail(f, "close target %zu", i);
}

static bool targets_closed(const fixture_t *f)
{
    for (size_t i = 0; i < CLOSE_KINDS; i++)
        if (f->conns[i].open) return false;
    return true;
}

typedef struct close_storm {
    io_handle_t *trigger, **targets;
    uint64_t visits_at_close;
    bool closed;
} close_storm_t;

/* The targets are closed where a storm closes them: in a callback at the end of a turn whose
 * receives ran the buffer ring dry (io_uring: re-arms owed), with every other handle armed. */
static bool close_targets_after_the_burst(fixture_t *f, const io_event_t *ev)
{
    close_storm_t *cs = f->hook_arg;
    if (ev->kind == IO_RECEIVED && ev->res > 0 && cs->trigger->state == IO_HANDLE_IDLE) {
        io_close(f->loop, cs->trigger, IO_CLOSE_NORMAL);
    } else if (ev->kind == IO_CLOSED && ev->handle == cs->trigger) {
        cs->visits_at_close = f->loop->close_visits;
        close_targets(f, cs->targets);
        cs->closed = true;
    }
    return false;
}

/* A close visits nothing of the other handles': io.h's close_visits counts what closes look at
 * in the backend's lists and, for a cancel, in the kernel's table of armed requests (a cancel
 * keyed by fd walks all of it: a storm of N kicks cost O(N^2) on io_uring). The same four closes
 * visit as much with 300 other handles armed, some out of buffers, as with none. */
static void close_visits_as_much_with_many_other_handles_as_with_none(void **state)
{
    fixture_t *f = *state;
    uint8_t *big = pattern_new(BLOCKED_SEND_BYTES, 21);
    io_handle_t *t[CLOSE_KINDS];
    open_close_targets(f, t, big);
    uint64_t v0 = f->loop->close_visits;
    close_targets(f, t);
    RUN_UNTIL(f, targets_closed(f));
    uint64_t alone = f->loop->close_visits - v0;

    open_close_targets(f, t, big);
    io_handle_t *trigger, *other;
    (void)conn_accept(f, CLOSE_KINDS, 1, 0, &trigger);
    int oc[OTHERS];
    for (size_t i = 0; i < OTHERS; i++) {
        oc[i] = conn_accept(f, CLOSE_KINDS + 1 + i, 1000 + (uint32_t)i, 0, &other);
        assert_int_equal(io_recv_start(f->loop, other), 0);
    }
    run_quiet(f);
    close_storm_t cs = { .trigger = trigger, .targets = t };
    f->hook = close_targets_after_the_burst;
    f->hook_arg = &cs;
    for (size_t i = 0; i < OTHERS; i++) client_send_all(oc[i], "burst", 5); /* more than RECV_BUFFERS */
    RUN_UNTIL(f, cs.closed && targets_closed(f));
    assert_string_equal(f->hook_error, "");
    uint64_t among_many = f->loop->close_visits - cs.visits_at_close;
    print_message("    close_visits: %llu alone, %llu among %d others\n", (unsigned long long)alone,
                  (unsigned long long)among_many, OTHERS);
    assert_int_equal(among_many, alone);
    free(big); /* only now: the kernel may read it until IO_CLOSED */
}

static int run_backend(const io_backend_ops_t *b)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(accept_delivers_nonblocking_fd_and_peer_address),
        T(accept_delivers_a_connection_already_reset_with_its_address_or_none),
        T(recv_delivers_every_byte_in_order_across_many_sends),
        T(peer_shutdown_delivers_end_of_stream_once),
        T(peer_close_delivers_end_of_stream_once),
        T(send_completion_is_never_delivered_inside_io_send),
        T(send_results_sum_to_the_bytes_asked),
        T(send_busy_from_io_send_until_its_sent_is_delivered),
        T(second_send_while_busy_is_ebusy),
        T(large_send_to_idle_peer_stays_in_flight_and_abort_completes),
        T(closed_is_never_delivered_inside_io_close),
        T(normal_close_delivers_only_one_closed),
        T(abort_close_delivers_only_one_closed),
        T(close_inside_receive_callback_stops_later_receives),
        T(abort_close_makes_peer_see_connection_reset),
        T(normal_close_makes_peer_see_end_of_stream),
        T(close_after_peer_closed_delivers_one_closed),
        T(close_after_peer_reset_delivers_one_closed),
        T(second_close_is_ealready_and_closed_arrives_once),
        T(wake_from_another_thread_ends_a_blocking_wait),
        T(wake_before_the_wait_is_not_lost),
        T(run_once_returns_the_number_of_events_delivered),
        T(five_hundred_connections_echo_once_then_all_close),
        T(handle_reused_right_after_closed_gets_nothing_stale),
        T(handle_memory_freed_at_closed_is_never_read_again),
        T(close_visits_as_much_with_many_other_handles_as_with_none),
#undef T
    };
    g_backend = b;
    return cmocka_run_group_tests_name(b->name, tests, NULL, NULL);
}

int main(void)
{
    const char *only = getenv("GSKEL_IO_BACKEND");
    /* A cmocka pattern of tests to skip: valgrind cannot run io_uring's cross-thread wake. */
    const char *skip = getenv("GSKEL_IO_SKIP");
    if (skip) cmocka_set_skip_filter(skip);
    int failed = 0, ran = 0;
    for (const io_backend_ops_t *const *b = io_backends; *b; b++) {
        if (only && strcmp(only, (*b)->name) != 0) continue;
        char why[200] = "";
        int rc = (*b)->probe(why, sizeof why);
        if (rc < 0) {
            printf("[ SKIPPED  ] backend %s: %s\n", (*b)->name, why);
            continue;
        }
        printf("[ BACKEND  ] %s: %s\n", (*b)->name, loop_describe(*b));
        failed += run_isolated(*b, run_backend);
        ran++;
    }
    if (!ran) printf("[ SKIPPED  ] no backend ran\n");
    return failed ? 1 : 0;
}

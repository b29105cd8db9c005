/* connect: connections per second. Each of --conns concurrent loops opens a connection (spread
 * over source addresses, so the client never runs out of ephemeral ports), sends one PING, waits
 * for any reply (so the server has really accepted and served it: a finished handshake only means
 * the kernel queued it), and closes first. */
#include "bench.h"
#include "bytes.h"

static bench_slot_step_t connect_step(bench_slot_t *s, const frame_t *f)
{
    if (f)
        return BENCH_SLOT_DONE; /* PONG from gskel; the reference servers echo the PING */
    uint8_t p[8];
    le_put_u64(p, s->t0);
    return bench_slot_send(s, OP_PING, p, sizeof p) == 0 ? BENCH_SLOT_MORE : BENCH_SLOT_FAIL;
}

static int connect_child(bench_child_t *ch)
{
    return bench_slots_run(ch, connect_step);
}

static void connect_report(const bench_run_t *r, bench_out_t *out)
{
    bench_slots_report(r, out, "connects");
    bench_out_tcp(out, r, true);
}

const bench_scenario_t bench_connect = {
    .name = "connect",
    .what = "connections per second (connect, PING, close), over many source addresses",
    .opts = BENCH_O_WARMUP,
    .default_conns = 64,
    .default_duration_s = 3.0,
    .default_warmup_s = 0.5,
    .settle_ms = 200,
    .child = connect_child,
    .report = connect_report,
};

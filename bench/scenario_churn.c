/* churn: the polite life of a session, over and over: connect, LOGIN, LOGOUT, wait for
 * LOGOUT_OK, close first. Afterwards the coordinator counts TIME_WAIT and CLOSE_WAIT on both
 * sides: the client (which closed first) should hold the TIME_WAITs, the server none of either. */
#include <stdio.h>

#include "bench.h"

enum { CHURN_LOGIN_SENT = 1, CHURN_LOGOUT_SENT };

static bench_slot_step_t churn_step(bench_slot_t *s, const frame_t *f)
{
    if (!f) {
        char name[PROTO_LOGIN_NAME_MAX + 1];
        uint8_t p[1 + PROTO_LOGIN_NAME_MAX];
        int n = snprintf(name, sizeof name, "churn-%u", s->index);
        p[0] = (uint8_t)n;
        for (int i = 0; i < n; i++)
            p[1 + i] = (uint8_t)name[i];
        s->step = CHURN_LOGIN_SENT;
        return bench_slot_send(s, OP_LOGIN, p, 1u + (size_t)n) == 0 ? BENCH_SLOT_MORE : BENCH_SLOT_FAIL;
    }
    if (s->step == CHURN_LOGIN_SENT && f->op == OP_LOGIN_OK) {
        s->step = CHURN_LOGOUT_SENT;
        return bench_slot_send(s, OP_LOGOUT, NULL, 0) == 0 ? BENCH_SLOT_MORE : BENCH_SLOT_FAIL;
    }
    if (s->step == CHURN_LOGOUT_SENT && f->op == OP_LOGOUT_OK)
        return BENCH_SLOT_DONE;
    return BENCH_SLOT_FAIL;
}

static int churn_child(bench_child_t *ch)
{
    return bench_slots_run(ch, churn_step);
}

static void churn_report(const bench_run_t *r, bench_out_t *out)
{
    bench_slots_report(r, out, "loops");
    bench_out_tcp(out, r, true);
}

const bench_scenario_t bench_churn = {
    .name = "churn",
    .what = "connect, LOGIN, LOGOUT, LOGOUT_OK, close: loops/s and TIME_WAIT/CLOSE_WAIT each side",
    .opts = BENCH_O_WARMUP,
    .default_conns = 64,
    .default_duration_s = 3.0,
    .default_warmup_s = 0.5,
    .settle_ms = 500,
    .child = churn_child,
    .report = churn_report,
};

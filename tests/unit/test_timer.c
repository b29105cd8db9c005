/* timer: deadlines fire at or after their time and never before, arm/cancel from callbacks,
 * far-future timers, long gaps, timeout_ms, and a randomized check against a naive model. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "timer.h"

#define TICK 10
#define SLOTS 64 /* one revolution: 640 ms */

typedef struct rec {
    timer_node_t *fired[64];
    uint32_t n;
} rec_t;

static void record(void *ctx, timer_node_t *t)
{
    rec_t *r = ctx;
    if (r->n < 64)
        r->fired[r->n] = t;
    r->n++;
}

/* The wheel most tests run on, and the nodes and record they arm and fire into: kept here, not
 * on a test's stack, because teardown's timer_wheel_destroy unlinks whatever is still armed. */
typedef struct fixture {
    timer_wheel_t w;
    timer_node_t t[4];
    rec_t r;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof(f));
    if (timer_wheel_init(&f.w, 0, TICK, SLOTS) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    timer_wheel_destroy(&f->w);
    return 0;
}

static void init_rejects_bad_geometry(void **state)
{
    (void)state;
    timer_wheel_t w;
    assert_int_equal(timer_wheel_init(&w, 0, 0, 64), -EINVAL);
    assert_int_equal(timer_wheel_init(&w, 0, 10, 0), -EINVAL);
    assert_int_equal(timer_wheel_init(&w, 0, 10, 48), -EINVAL);
}

static void fires_at_deadline_and_not_before(void **state)
{
    (void)state;
    timer_wheel_t w;
    timer_wheel_init(&w, 1000, TICK, SLOTS);
    timer_node_t t = { 0 };
    rec_t r = { 0 };
    timer_arm(&w, &t, 1105); /* mid-tick on purpose */
    assert_int_equal(timer_wheel_advance(&w, 1100, record, &r), 0);
    assert_int_equal(timer_wheel_advance(&w, 1104, record, &r), 0);
    assert_true(timer_armed(&t));
    assert_int_equal(timer_wheel_advance(&w, 1105, record, &r), 1);
    assert_ptr_equal(r.fired[0], &t);
    assert_false(timer_armed(&t));
    timer_wheel_destroy(&w);
}

static void fires_when_advance_skips_past_deadline(void **state)
{
    fixture_t *f = *state;
    timer_arm(&f->w, &f->t[0], 55);
    assert_int_equal(timer_wheel_advance(&f->w, 300, record, &f->r), 1);
}

static void cancelled_timer_never_fires(void **state)
{
    fixture_t *f = *state;
    timer_node_t *t = &f->t[0];
    timer_arm(&f->w, t, 50);
    timer_cancel(&f->w, t);
    assert_false(timer_armed(t));
    assert_int_equal(timer_wheel_advance(&f->w, 10000, record, &f->r), 0);
    timer_cancel(&f->w, t); /* not armed: no-op */
    assert_int_equal(timer_wheel_count(&f->w), 0);
}

static void rearming_moves_the_deadline(void **state)
{
    fixture_t *f = *state;
    timer_arm(&f->w, &f->t[0], 50);
    timer_arm(&f->w, &f->t[0], 500);
    assert_int_equal(timer_wheel_count(&f->w), 1);
    assert_int_equal(timer_wheel_advance(&f->w, 499, record, &f->r), 0);
    assert_int_equal(timer_wheel_advance(&f->w, 500, record, &f->r), 1);
}

static void past_deadline_fires_on_next_advance(void **state)
{
    (void)state;
    timer_wheel_t w;
    timer_wheel_init(&w, 5000, TICK, SLOTS);
    timer_node_t t = { 0 };
    rec_t r = { 0 };
    timer_arm(&w, &t, 100);
    assert_int_equal(timer_wheel_advance(&w, 5000, record, &r), 1);
    timer_wheel_destroy(&w);
}

typedef struct rearm_ctx {
    timer_wheel_t *w;
    uint32_t calls;
} rearm_ctx_t;

static void rearm_self_later(void *ctx, timer_node_t *t)
{
    rearm_ctx_t *c = ctx;
    c->calls++;
    timer_arm(c->w, t, t->expires_ms + 100);
}

static void callback_can_rearm_its_own_timer(void **state)
{
    fixture_t *f = *state;
    timer_node_t *t = &f->t[0];
    rearm_ctx_t c = { &f->w, 0 };
    timer_arm(&f->w, t, 100);
    assert_int_equal(timer_wheel_advance(&f->w, 100, rearm_self_later, &c), 1);
    assert_true(timer_armed(t));
    assert_int_equal(t->expires_ms, 200);
    assert_int_equal(timer_wheel_advance(&f->w, 199, rearm_self_later, &c), 0);
    assert_int_equal(timer_wheel_advance(&f->w, 200, rearm_self_later, &c), 1);
    assert_int_equal(c.calls, 2);
}

static void rearm_self_now(void *ctx, timer_node_t *t)
{
    rearm_ctx_t *c = ctx;
    c->calls++;
    timer_arm(c->w, t, t->expires_ms);
}

static void overdue_rearm_in_callback_fires_once_per_advance(void **state)
{
    fixture_t *f = *state;
    rearm_ctx_t c = { &f->w, 0 };
    timer_arm(&f->w, &f->t[0], 100);
    assert_int_equal(timer_wheel_advance(&f->w, 100, rearm_self_now, &c), 1);
    assert_int_equal(timer_wheel_advance(&f->w, 100, rearm_self_now, &c), 1);
    assert_int_equal(c.calls, 2);
    timer_cancel(&f->w, &f->t[0]);
}

typedef struct cancel_ctx {
    timer_wheel_t *w;
    timer_node_t *a, *b;
    uint32_t calls;
} cancel_ctx_t;

static void cancel_the_other(void *ctx, timer_node_t *t)
{
    cancel_ctx_t *c = ctx;
    c->calls++;
    timer_cancel(c->w, t == c->a ? c->b : c->a);
}

static void callback_can_cancel_another_timer_of_its_slot(void **state)
{
    fixture_t *f = *state;
    timer_node_t *a = &f->t[0], *b = &f->t[1];
    cancel_ctx_t c = { &f->w, a, b, 0 };
    timer_arm(&f->w, a, 100);
    timer_arm(&f->w, b, 101); /* same tick, same slot */
    assert_int_equal(timer_wheel_advance(&f->w, 200, cancel_the_other, &c), 1);
    assert_int_equal(c.calls, 1);
    assert_false(timer_armed(a));
    assert_false(timer_armed(b));
    assert_int_equal(timer_wheel_count(&f->w), 0);
}

static void arm_other(void *ctx, timer_node_t *t)
{
    cancel_ctx_t *c = ctx;
    c->calls++;
    if (t == c->a)
        timer_arm(c->w, c->b, 0); /* overdue */
}

static void timer_armed_overdue_in_callback_fires_by_next_advance(void **state)
{
    fixture_t *f = *state;
    cancel_ctx_t c = { &f->w, &f->t[0], &f->t[1], 0 };
    timer_arm(&f->w, c.a, 100);
    uint32_t fired = timer_wheel_advance(&f->w, 100, arm_other, &c);
    fired += timer_wheel_advance(&f->w, 100, arm_other, &c);
    assert_int_equal(fired, 2);
    assert_false(timer_armed(c.b));
}

static void far_future_timer_fires_once_at_its_deadline(void **state)
{
    fixture_t *f = *state;
    uint64_t deadline = 10 * TICK * SLOTS + 37; /* ten revolutions and a bit */
    timer_arm(&f->w, &f->t[0], deadline);
    for (uint64_t now = TICK; now < deadline; now += TICK)
        assert_int_equal(timer_wheel_advance(&f->w, now, record, &f->r), 0);
    assert_int_equal(timer_wheel_advance(&f->w, deadline, record, &f->r), 1);
    for (uint64_t now = deadline; now < 2 * deadline; now += TICK)
        timer_wheel_advance(&f->w, now, record, &f->r);
    assert_int_equal(f->r.n, 1);
}

/* A wheel that stepped through every tick of the gap would spin for ages here (2^50 ticks) and
 * the test would hit its ctest timeout. */
static void huge_time_jump_fires_due_timers_and_keeps_later_ones(void **state)
{
    (void)state;
    timer_wheel_t w;
    timer_wheel_init(&w, 0, 1, SLOTS);
    timer_node_t due[3] = { { 0 } }, later = { 0 };
    rec_t r = { 0 };
    timer_arm(&w, &due[0], 5);
    timer_arm(&w, &due[1], 3600000);
    timer_arm(&w, &due[2], 7000000);
    uint64_t now = 1ull << 50;
    timer_arm(&w, &later, now + 1);
    assert_int_equal(timer_wheel_advance(&w, now, record, &r), 3);
    assert_true(timer_armed(&later));
    assert_int_equal(timer_wheel_advance(&w, now + 1, record, &r), 1);
    timer_wheel_destroy(&w);
}

static void timeout_is_minus_one_when_nothing_is_armed(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(timer_wheel_timeout_ms(&f->w, 0), -1);
    timer_arm(&f->w, &f->t[0], 50);
    timer_cancel(&f->w, &f->t[0]);
    assert_int_equal(timer_wheel_timeout_ms(&f->w, 0), -1);
}

static void timeout_is_zero_when_a_timer_is_overdue(void **state)
{
    fixture_t *f = *state;
    timer_arm(&f->w, &f->t[0], 50);
    assert_int_equal(timer_wheel_timeout_ms(&f->w, 50), 0);
    assert_int_equal(timer_wheel_timeout_ms(&f->w, 9000), 0);
}

static void timeout_is_never_later_than_the_earliest_deadline(void **state)
{
    fixture_t *f = *state;
    timer_node_t *near = &f->t[0], *far = &f->t[1];
    timer_arm(&f->w, far, 50 * TICK * SLOTS + 3);
    int far_left = timer_wheel_timeout_ms(&f->w, 0);
    assert_true(far_left >= 0 && far_left <= 50 * TICK * SLOTS + 3);
    timer_arm(&f->w, near, 123);
    int left = timer_wheel_timeout_ms(&f->w, 7);
    assert_true(left >= 0 && left <= 123 - 7);
    timer_cancel(&f->w, near); /* the earliest is gone: the next one is far */
    left = timer_wheel_timeout_ms(&f->w, 7);
    assert_true(left > 123 - 7 && left <= 50 * TICK * SLOTS + 3 - 7);
}

static void timeout_is_clamped_to_int_max(void **state)
{
    fixture_t *f = *state;
    timer_arm(&f->w, &f->t[0], UINT64_MAX);
    assert_int_equal(timer_wheel_timeout_ms(&f->w, 0), INT_MAX);
}

static void count_tracks_arms_cancels_moves_and_fires(void **state)
{
    fixture_t *f = *state;
    timer_node_t *t = f->t;
    for (int i = 0; i < 4; i++)
        timer_arm(&f->w, &t[i], 100 * (uint64_t)(i + 1));
    assert_int_equal(timer_wheel_count(&f->w), 4);
    timer_arm(&f->w, &t[0], 1000);
    assert_int_equal(timer_wheel_count(&f->w), 4);
    timer_cancel(&f->w, &t[1]);
    timer_cancel(&f->w, &t[1]);
    assert_int_equal(timer_wheel_count(&f->w), 3);
    timer_wheel_advance(&f->w, 300, record, &f->r);
    assert_int_equal(timer_wheel_count(&f->w), 2);
}

static void destroy_disarms_remaining_timers(void **state)
{
    fixture_t *f = *state;
    timer_arm(&f->w, &f->t[0], 100);
    timer_wheel_destroy(&f->w); /* teardown's second destroy finds an empty wheel */
    assert_false(timer_armed(&f->t[0]));
}

/* ---- randomized against a model: every node's state is just (armed, expires_ms) ---- */

#define MODEL_NODES 512
#define MODEL_OPS 100000

typedef struct model {
    timer_wheel_t *w;
    timer_node_t nodes[MODEL_NODES];
    bool armed[MODEL_NODES];
    uint64_t expires[MODEL_NODES];
    uint64_t now;
    uint64_t rng;
    bool fired_now[MODEL_NODES];
} model_t;

static uint64_t next_rand(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t random_deadline(model_t *m)
{
    switch (next_rand(&m->rng) % 4) {
    case 0: return m->now - (m->now ? next_rand(&m->rng) % (m->now < 500 ? m->now : 500) : 0);
    case 1: return m->now + next_rand(&m->rng) % (2 * TICK);
    case 2: return m->now + next_rand(&m->rng) % (TICK * SLOTS);
    default: return m->now + next_rand(&m->rng) % (20 * TICK * SLOTS); /* many revolutions */
    }
}

static void model_fire(void *ctx, timer_node_t *t)
{
    model_t *m = ctx;
    size_t i = (size_t)(t - m->nodes);
    assert_true(i < MODEL_NODES);
    assert_true(m->armed[i]);
    assert_true(m->expires[i] <= m->now);
    assert_false(m->fired_now[i]);
    m->fired_now[i] = true;
    m->armed[i] = false;
    if (next_rand(&m->rng) % 8 == 0) { /* re-arm strictly later, as an idle timer would */
        m->expires[i] = m->now + 1 + next_rand(&m->rng) % (3 * TICK * SLOTS);
        m->armed[i] = true;
        timer_arm(m->w, t, m->expires[i]);
    }
}

static void check_model_timeout(const model_t *m)
{
    uint64_t earliest = UINT64_MAX;
    size_t armed = 0;
    for (size_t i = 0; i < MODEL_NODES; i++) {
        if (m->armed[i]) {
            armed++;
            if (m->expires[i] < earliest)
                earliest = m->expires[i];
        }
    }
    assert_int_equal(timer_wheel_count(m->w), armed);
    int left = timer_wheel_timeout_ms(m->w, m->now);
    if (armed == 0) {
        assert_int_equal(left, -1);
        return;
    }
    uint64_t exact = earliest > m->now ? earliest - m->now : 0;
    assert_true(left >= 0);
    assert_true((uint64_t)left <= exact);
    assert_true((uint64_t)left + TICK >= exact);
}

static void random_operations_match_a_naive_model(void **state)
{
    (void)state;
    static model_t m;
    memset(&m, 0, sizeof(m));
    timer_wheel_t w;
    m.w = &w;
    m.rng = 42;
    m.now = 1000;
    timer_wheel_init(&w, m.now, TICK, SLOTS);
    for (uint32_t op = 0; op < MODEL_OPS; op++) {
        uint64_t roll = next_rand(&m.rng) % 100;
        size_t i = next_rand(&m.rng) % MODEL_NODES;
        if (roll < 55) {
            m.expires[i] = random_deadline(&m);
            m.armed[i] = true;
            timer_arm(&w, &m.nodes[i], m.expires[i]);
        } else if (roll < 75) {
            m.armed[i] = false;
            timer_cancel(&w, &m.nodes[i]);
        } else {
            uint64_t step = next_rand(&m.rng) % 100 == 0 ? next_rand(&m.rng) % (100 * TICK * SLOTS)
                                                         : next_rand(&m.rng) % (3 * TICK);
            m.now += step;
            bool due[MODEL_NODES];
            for (size_t k = 0; k < MODEL_NODES; k++)
                due[k] = m.armed[k] && m.expires[k] <= m.now;
            memset(m.fired_now, 0, sizeof(m.fired_now));
            timer_wheel_advance(&w, m.now, model_fire, &m);
            for (size_t k = 0; k < MODEL_NODES; k++)
                assert_int_equal(due[k], m.fired_now[k]);
        }
        for (size_t k = 0; k < MODEL_NODES; k += 61)
            assert_int_equal(timer_armed(&m.nodes[k]), m.armed[k]);
        check_model_timeout(&m);
    }
    timer_wheel_destroy(&w);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_rejects_bad_geometry),
        cmocka_unit_test(fires_at_deadline_and_not_before),
        T(fires_when_advance_skips_past_deadline),
        T(cancelled_timer_never_fires),
        T(rearming_moves_the_deadline),
        cmocka_unit_test(past_deadline_fires_on_next_advance),
        T(callback_can_rearm_its_own_timer),
        T(overdue_rearm_in_callback_fires_once_per_advance),
        T(callback_can_cancel_another_timer_of_its_slot),
        T(timer_armed_overdue_in_callback_fires_by_next_advance),
        T(far_future_timer_fires_once_at_its_deadline),
        cmocka_unit_test(huge_time_jump_fires_due_timers_and_keeps_later_ones),
        T(timeout_is_minus_one_when_nothing_is_armed),
        T(timeout_is_zero_when_a_timer_is_overdue),
        T(timeout_is_never_later_than_the_earliest_deadline),
        T(timeout_is_clamped_to_int_max),
        T(count_tracks_arms_cancels_moves_and_fires),
        T(destroy_disarms_remaining_timers),
        cmocka_unit_test(random_operations_match_a_naive_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

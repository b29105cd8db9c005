/* churn: the polite life of a session, over and over: connect, LOGIN, LOGOUT, wait for
 * LOGOUT_OK, close first. Afterwards the coordinator counts TIME_WAIT and CLOSE_WAIT on both
 * sides: the client (which closed first) should hold the TIME_WAITs, the server none of either.
 * With --ticket-key every LOGIN carries a signed ticket (the cost of checking one is the figure),
 * signed before the window in a pool this process uses once each (the server refuses replays). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "bench.h"
#include "ticket.h"
#include "ticket_keys.h"

/* Tickets one client process signs before its window: more than its share of the loops a
 * 2-core machine runs in a window (about 20,000/s); past them it signs as it goes. */
#define CHURN_TICKETS 100000u
#define CHURN_TICKET_TTL_S 600u

typedef struct churn_tickets {
    ticket_secret_t key;
    uint8_t (*pool)[TICKET_MAX_BYTES];
    uint8_t *len;
    uint32_t count, next;
    uint64_t account;
} churn_tickets_t;

static churn_tickets_t tickets;

static int churn_tickets_load(const bench_child_t *ch) {
    static char text[64 * 1024];
    FILE *f = fopen(ch->o->ticket_key, "rb");
    if (!f) {
        perror(ch->o->ticket_key);
        return -1;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    char err[256];
    if (ticket_crypto_init() < 0 || ticket_keys_parse_secret(ch->o->ticket_key, text, n, &tickets.key, err, sizeof err) < 0) {
        fprintf(stderr, "gskel-bench: %s\n", err);
        return -1;
    }
    tickets.pool = gs_malloc(CHURN_TICKETS * sizeof *tickets.pool);
    tickets.len = gs_malloc(CHURN_TICKETS);
    /* Accounts differ per slot (one session per account would kick a slot's own older login). */
    tickets.account = (uint64_t)ch->index << 40;
    for (tickets.count = 0; tickets.count < CHURN_TICKETS; tickets.count++) {
        char name[16];
        int nl = snprintf(name, sizeof name, "churn-%u", tickets.count);
        int len = ticket_sign(tickets.pool[tickets.count], TICKET_MAX_BYTES, tickets.key.id, tickets.key.seed,
                              tickets.account + tickets.count + 1, name, (size_t)nl,
                              (uint64_t)time(NULL) + CHURN_TICKET_TTL_S, NULL);
        if (len < 0) return -1;
        tickets.len[tickets.count] = (uint8_t)len;
    }
    return 0;
}

/* The next LOGIN payload: a fresh ticket, or the slot's name. */
static size_t churn_login_payload(const bench_slot_t *s, uint8_t *p) {
    if (tickets.count) {
        uint32_t i = tickets.next++;
        if (i < tickets.count) {
            memcpy(p, tickets.pool[i], tickets.len[i]);
            return tickets.len[i];
        }
        char name[16];
        int nl = snprintf(name, sizeof name, "churn-%u", i);
        int len = ticket_sign(p, TICKET_MAX_BYTES, tickets.key.id, tickets.key.seed, tickets.account + i + 1, name,
                              (size_t)nl, (uint64_t)time(NULL) + CHURN_TICKET_TTL_S, NULL);
        return len > 0 ? (size_t)len : 0;
    }
    char name[PROTO_LOGIN_NAME_MAX + 1];
    int n = snprintf(name, sizeof name, "churn-%u", s->index);
    p[0] = (uint8_t)n;
    memcpy(p + 1, name, (size_t)n);
    return 1u + (size_t)n;
}

enum { CHURN_LOGIN_SENT = 1, CHURN_LOGOUT_SENT };

static bench_slot_step_t churn_step(bench_slot_t *s, const frame_t *f)
{
    if (!f) {
        uint8_t p[TICKET_MAX_BYTES];
        size_t n = churn_login_payload(s, p);
        s->step = CHURN_LOGIN_SENT;
        return n && bench_slot_send(s, OP_LOGIN, p, n) == 0 ? BENCH_SLOT_MORE : BENCH_SLOT_FAIL;
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
    if (ch->o->ticket_key && churn_tickets_load(ch) < 0)
        return -1;
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
    .opts = BENCH_O_WARMUP | BENCH_O_TICKET,
    .default_conns = 64,
    .default_duration_s = 3.0,
    .default_warmup_s = 0.5,
    .settle_ms = 500,
    .child = churn_child,
    .report = churn_report,
};

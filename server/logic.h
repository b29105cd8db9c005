/* logic: the one game-logic thread. Owns the fixed tick, the game op table, the per-worker rings
 * in both directions (worker -> logic: logins, game frames, leaves; logic -> worker: frames,
 * kicks, aborts) and the tick-time histogram. Workers never wait for it and it never touches a
 * session: it speaks to workers only through their rings and a wakeup. */
#ifndef GSKEL_LOGIC_H
#define GSKEL_LOGIC_H

#include <stdint.h>

#include "game_api.h"
#include "spsc.h"
#include "worker.h"

struct server;
typedef struct game logic_t; /* the logic thread is the game context */

/* Inbound record kinds (worker -> logic) and outbound (logic -> worker). */
typedef enum { LOGIC_IN_JOIN, LOGIC_IN_FRAME, LOGIC_IN_LEAVE } logic_in_kind_t;
typedef enum { LOGIC_OUT_FRAME, LOGIC_OUT_KICK, LOGIC_OUT_ABORT } logic_out_kind_t;

typedef struct logic_record {
    uint32_t session;
    uint16_t kind;
    uint16_t op;  /* FRAME: the op; KICK/ABORT: the reason */
    uint16_t len; /* bytes of data */
    uint8_t data[];
} logic_record_t;

/* Room a worker keeps in its ring to the logic thread for JOIN and LEAVE records. */
#define LOGIC_EVENT_HEADROOM 65536u

/* Tick-time histogram bounds, seconds (Prometheus `le`); the last bucket is +Inf. */
#define LOGIC_TICK_BUCKETS 14
extern const double logic_tick_bounds[LOGIC_TICK_BUCKETS];

typedef struct logic_stats {
    stat_t tick_buckets[LOGIC_TICK_BUCKETS + 1];
    stat_t tick_count;
    stat_t tick_sum_us;
    stat_t overruns;       /* ticks that took longer than the period */
    stat_t dropped_in;     /* frames to the logic thread dropped: its ring was full */
    stat_t dropped_out;    /* frames from it dropped: a worker's ring was full */
} logic_stats_t;

/* Creates the rings of every worker and, if any module is compiled in, starts the thread.
 * Modules' init run on the logic thread before the first tick. */
int logic_start(logic_t **out, struct server *srv, char *err, size_t err_len);
void logic_stop(logic_t *l);
const logic_stats_t *logic_stats(const logic_t *l);

/* Worker side. Whether game ops exist (else LOGIN/LEAVE are not forwarded). */
int logic_enabled(const logic_t *l);
/* A record to the logic thread from worker w; -ENOBUFS when its ring is full (counted). */
int logic_post(logic_t *l, worker_t *w, uint32_t session, logic_in_kind_t kind, uint16_t op,
               const void *data, uint16_t len);
/* Hands every record the logic thread sent to worker w to fn, oldest first. */
void logic_drain(logic_t *l, worker_t *w, void (*fn)(worker_t *w, const logic_record_t *r));

#endif

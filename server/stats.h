/* stats: the server's counters as plain structs (stat.h: one writer each), so that whoever shows
 * them (the admin endpoint, the exit line) needs these types and nothing of their writers. */
#ifndef GSKEL_STATS_H
#define GSKEL_STATS_H

#include "reason.h"
#include "stat.h"

/* One worker's counters; summed over the workers for metrics. */
typedef struct worker_stats {
    stat_t accepted;
    stat_t sessions_active;   /* gauge */
    stat_t rejected_full;  /* reset at accept: the session table was full */
    stat_t accept_errors;
    stat_t disconnects[REASON_COUNT];
    stat_t bytes_in, bytes_out;
    stat_t frames_in, frames_out;
    stat_t send_calls;     /* io_send calls: frames_out / send_calls is the coalescing ratio */
    stat_t sessions_detached; /* resumable sessions whose connection dropped */
    stat_t sessions_resumed;  /* ... and came back with RESUME */
} worker_stats_t;

/* Tick-time histogram bounds, seconds (Prometheus `le`); the last bucket is +Inf. */
#define LOGIC_TICK_BUCKETS 14
extern const double logic_tick_bounds[LOGIC_TICK_BUCKETS];

typedef struct logic_stats {
    stat_t tick_buckets[LOGIC_TICK_BUCKETS + 1];
    stat_t tick_count;
    stat_t tick_sum_us;
    stat_t overruns;       /* ticks that took longer than the period */
    stat_t messages_dropped; /* game_publish refused: a full queue */
} logic_stats_t;

#endif

/* token_bucket: rate guards for one session (packets/s, bytes/s) with a burst allowance.
 * Owns only the arithmetic: integers throughout (tokens are kept in thousandths, so a rate of
 * per_sec tokens refills exactly per_sec thousandths per millisecond) and the caller passes the
 * time. The rate lives outside the bucket so thousands of sessions share one config struct;
 * what to do when a guard trips (drop, kick) is the caller's call. */
#ifndef GSKEL_TOKEN_BUCKET_H
#define GSKEL_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct token_bucket {
    uint64_t tokens_milli;
    uint64_t last_ms;
} token_bucket_t; /* one per session per guard */

typedef struct token_bucket_rate {
    uint32_t per_sec; /* 0 = unlimited */
    uint32_t burst;   /* most tokens ever held */
} token_bucket_rate_t;

/* Starts full (burst tokens). */
void token_bucket_init(token_bucket_t *b, const token_bucket_rate_t *r, uint64_t now_ms);

/* Refills for the time since the last call, then takes n tokens if all n are there. false =
 * over the rate, nothing taken; n > burst is always refused. A now_ms earlier than the last one
 * refills nothing. */
bool token_bucket_take(token_bucket_t *b, const token_bucket_rate_t *r, uint64_t now_ms,
                       uint32_t n);

#endif

/* histogram: an HDR-style log-linear latency histogram of u64 values (the bench records ns).
 * Owns bucketing, percentiles and merging (so forked client processes can add theirs up). Values
 * below 2^HIST_SUB_BITS are exact; above, each power of two is cut into 2^(HIST_SUB_BITS-1) equal
 * buckets, so any reported value is within 1/128 (0.8%) of a recorded one. Fixed size, no
 * allocation, no I/O: recording is one index computation and one increment. */
#ifndef GSKEL_HISTOGRAM_H
#define GSKEL_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 8u
#define HIST_HALF (1u << (HIST_SUB_BITS - 1u))
/* Buckets for every u64: exact [0, 2^SUB_BITS), then 64 - SUB_BITS halves of HIST_HALF each. */
#define HIST_BUCKETS ((64u - HIST_SUB_BITS) * HIST_HALF + (1u << HIST_SUB_BITS))

typedef struct hist {
    uint64_t total;
    uint64_t min, max; /* exact; min is UINT64_MAX while empty */
    uint64_t sum;      /* saturates; for the mean only */
    uint64_t counts[HIST_BUCKETS];
} hist_t;

void hist_init(hist_t *h);
void hist_record(hist_t *h, uint64_t v);
void hist_record_n(hist_t *h, uint64_t v, uint64_t n);
/* Adds src's counts to dst (the two may come from different processes). */
void hist_merge(hist_t *dst, const hist_t *src);

/* The value at percentile p (0..100): the highest value equivalent to the bucket that holds the
 * ceil(p% * total)-th smallest record, clamped to [min, max]; 0 when empty. p=100 is max. */
uint64_t hist_percentile(const hist_t *h, double p);
double hist_mean(const hist_t *h);

/* Bucketing, exposed for tests: the bucket of v and the value range a bucket stands for. */
size_t hist_bucket_of(uint64_t v);
uint64_t hist_bucket_low(size_t idx);
uint64_t hist_bucket_high(size_t idx);

#endif

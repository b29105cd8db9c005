/* Log-linear histogram: see histogram.h. */
#include "histogram.h"

#include <string.h>

void hist_init(hist_t *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

size_t hist_bucket_of(uint64_t v)
{
    if (v < (1u << HIST_SUB_BITS))
        return (size_t)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    /* Shift so the mantissa keeps HIST_SUB_BITS bits, its top bit always set: that top bit makes
     * the mantissa land in [HALF, 2*HALF), so consecutive shifts tile the index space. */
    unsigned k = msb - HIST_SUB_BITS + 1u;
    return (size_t)k * HIST_HALF + (size_t)(v >> k);
}

uint64_t hist_bucket_low(size_t idx)
{
    if (idx < (1u << HIST_SUB_BITS))
        return idx;
    size_t k = idx / HIST_HALF - 1u;
    return (uint64_t)(idx - k * HIST_HALF) << k;
}

uint64_t hist_bucket_high(size_t idx)
{
    if (idx < (1u << HIST_SUB_BITS))
        return idx;
    size_t k = idx / HIST_HALF - 1u;
    /* low + width - 1 rather than next_low - 1: the top bucket's next low does not fit a u64. */
    return hist_bucket_low(idx) + ((UINT64_C(1) << k) - 1u);
}

void hist_record_n(hist_t *h, uint64_t v, uint64_t n)
{
    if (n == 0)
        return;
    h->counts[hist_bucket_of(v)] += n;
    h->total += n;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    uint64_t add = v * n;
    if ((n != 0 && add / n != v) || h->sum + add < h->sum)
        h->sum = UINT64_MAX;
    else
        h->sum += add;
}

void hist_record(hist_t *h, uint64_t v)
{
    hist_record_n(h, v, 1);
}

void hist_merge(hist_t *dst, const hist_t *src)
{
    if (src->total == 0)
        return;
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->sum = dst->sum + src->sum < dst->sum ? UINT64_MAX : dst->sum + src->sum;
}

uint64_t hist_percentile(const hist_t *h, double p)
{
    if (h->total == 0)
        return 0;
    if (p <= 0.0)
        return h->min;
    if (p >= 100.0)
        return h->max;
    /* The rank is rounded up so p99 of 100 records is the 99th, not the 98th (HDR's rule). */
    double exact = p / 100.0 * (double)h->total;
    uint64_t rank = (uint64_t)exact;
    if ((double)rank < exact)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = hist_bucket_high(i);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}

double hist_mean(const hist_t *h)
{
    return h->total ? (double)h->sum / (double)h->total : 0.0;
}

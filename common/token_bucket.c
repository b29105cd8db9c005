#include "token_bucket.h"

#define MILLI 1000u

void token_bucket_init(token_bucket_t *b, const token_bucket_rate_t *r, uint64_t now_ms)
{
    b->tokens_milli = (uint64_t)r->burst * MILLI;
    b->last_ms = now_ms;
}

static void refill(token_bucket_t *b, const token_bucket_rate_t *r, uint64_t now_ms)
{
    uint64_t cap = (uint64_t)r->burst * MILLI;
    if (b->tokens_milli > cap)
        b->tokens_milli = cap; /* the burst was lowered since the last call */
    if (now_ms <= b->last_ms)
        return;
    uint64_t elapsed = now_ms - b->last_ms;
    b->last_ms = now_ms;
    uint64_t missing = cap - b->tokens_milli;
    /* Compare before multiplying: after a gap of days elapsed * per_sec would overflow. */
    if (elapsed > missing / r->per_sec)
        b->tokens_milli = cap;
    else
        b->tokens_milli += elapsed * r->per_sec;
}

bool token_bucket_take(token_bucket_t *b, const token_bucket_rate_t *r, uint64_t now_ms,
                       uint32_t n)
{
    if (r->per_sec == 0)
        return true;
    refill(b, r, now_ms);
    uint64_t need = (uint64_t)n * MILLI;
    if (b->tokens_milli < need)
        return false;
    b->tokens_milli -= need;
    return true;
}

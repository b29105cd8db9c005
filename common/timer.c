#include "timer.h"

#include <errno.h>
#include <limits.h>

#include "alloc.h"

/* A sanity bound (400 MB of slot heads), which also keeps slots * sizeof(node) in a 32-bit
 * size_t. */
#define TIMER_WHEEL_MAX_SLOTS (1u << 24)

/* Placement invariant, relied on by advance and the earliest-deadline scan: an armed node lies
 * in slot (expires_ms / tick_ms) & mask when that tick is >= cur_tick, and in the slot of
 * cur_tick when it is overdue. A slot therefore mixes nodes due this revolution with nodes due
 * whole revolutions later; expires_ms is compared when the slot is visited, so no round counter
 * has to be kept in step. */

static void list_init(timer_node_t *head) { head->next = head->prev = head; }

static void list_unlink(timer_node_t *t)
{
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

static void list_push(timer_node_t *head, timer_node_t *t)
{
    t->prev = head->prev;
    t->next = head;
    head->prev->next = t;
    head->prev = t;
}

static timer_node_t *slot_for(const timer_wheel_t *w, uint64_t expires_ms)
{
    uint64_t tick = expires_ms / w->tick_ms;
    if (tick < w->cur_tick)
        tick = w->cur_tick;
    return &w->slots[tick & w->mask];
}

int timer_wheel_init(timer_wheel_t *w, uint64_t now_ms, uint32_t tick_ms, uint32_t slots)
{
    *w = (timer_wheel_t){ 0 };
    if (tick_ms == 0 || slots == 0 || (slots & (slots - 1)) != 0)
        return -EINVAL;
    if (slots > TIMER_WHEEL_MAX_SLOTS)
        return -EINVAL;
    w->slots = gs_malloc((size_t)slots * sizeof(timer_node_t));
    for (uint32_t i = 0; i < slots; i++)
        list_init(&w->slots[i]);
    w->mask = slots - 1;
    w->tick_ms = tick_ms;
    w->now_ms = now_ms;
    w->cur_tick = now_ms / tick_ms;
    return 0;
}

void timer_wheel_destroy(timer_wheel_t *w)
{
    if (w->slots) {
        for (uint64_t i = 0; i <= w->mask; i++) {
            timer_node_t *head = &w->slots[i];
            while (head->next != head)
                list_unlink(head->next);
        }
        gs_free(w->slots);
    }
    *w = (timer_wheel_t){ 0 };
}

/* Removal keeps the cached minimum exact unless the removed node may have been the minimum. */
static void note_removed(timer_wheel_t *w, const timer_node_t *t)
{
    w->count--;
    if (w->earliest_valid && t->expires_ms <= w->earliest_ms)
        w->earliest_valid = false;
}

void timer_arm(timer_wheel_t *w, timer_node_t *t, uint64_t expires_ms)
{
    if (timer_armed(t)) {
        list_unlink(t);
        note_removed(w, t);
    }
    t->expires_ms = expires_ms;
    list_push(slot_for(w, expires_ms), t);
    if (w->count++ == 0) {
        w->earliest_ms = expires_ms;
        w->earliest_valid = true;
    } else if (w->earliest_valid && expires_ms < w->earliest_ms) {
        w->earliest_ms = expires_ms;
    }
}

void timer_cancel(timer_wheel_t *w, timer_node_t *t)
{
    if (!timer_armed(t))
        return;
    list_unlink(t);
    note_removed(w, t);
}

/* The exact earliest deadline, by walking slots from cur_tick. The first slot holding a node
 * due in this revolution holds the minimum (everything later, or revolutions away, is due at a
 * later tick); a wheel of far-future timers only is walked whole. */
static uint64_t scan_earliest(const timer_wheel_t *w)
{
    uint64_t best = UINT64_MAX;
    size_t seen = 0;
    for (uint64_t i = 0; i <= w->mask && seen < w->count; i++) {
        uint64_t tick = w->cur_tick + i;
        const timer_node_t *head = &w->slots[tick & w->mask];
        bool due_this_turn = false;
        for (const timer_node_t *t = head->next; t != head; t = t->next) {
            seen++;
            if (t->expires_ms < best)
                best = t->expires_ms;
            if (t->expires_ms / w->tick_ms <= tick)
                due_this_turn = true;
        }
        if (due_this_turn)
            break;
    }
    return best;
}

int timer_wheel_timeout_ms(const timer_wheel_t *w, uint64_t now_ms)
{
    if (w->count == 0)
        return -1;
    uint64_t earliest = w->earliest_valid ? w->earliest_ms : scan_earliest(w);
    if (earliest <= now_ms)
        return 0;
    uint64_t left = earliest - now_ms;
    return left > INT_MAX ? INT_MAX : (int)left;
}

/* Fires the due nodes of one slot. The slot is first moved onto a local list and drained from
 * its head, so callbacks may cancel or re-arm any node (of this slot or another) and never see
 * a node they just armed fire again in this visit. */
static uint32_t visit_slot(timer_wheel_t *w, timer_node_t *slot, uint64_t now_ms, timer_fn fn,
                           void *ctx)
{
    if (slot->next == slot)
        return 0;
    timer_node_t pending;
    pending.next = slot->next;
    pending.prev = slot->prev;
    pending.next->prev = &pending;
    pending.prev->next = &pending;
    list_init(slot);

    uint32_t fired = 0;
    while (pending.next != &pending) {
        timer_node_t *t = pending.next;
        list_unlink(t);
        if (t->expires_ms > now_ms) {
            list_push(slot, t); /* revolutions away: same slot */
            continue;
        }
        note_removed(w, t);
        fired++;
        fn(ctx, t);
    }
    return fired;
}

uint32_t timer_wheel_advance(timer_wheel_t *w, uint64_t now_ms, timer_fn fn, void *ctx)
{
    if (now_ms < w->now_ms)
        now_ms = w->now_ms;
    uint64_t from = w->cur_tick;
    uint64_t to = now_ms / w->tick_ms;
    /* Set before any callback runs, so overdue arms from callbacks land in the slot the next
     * advance visits first. */
    w->cur_tick = to;
    w->now_ms = now_ms;

    uint64_t visits = to - from + 1;
    if (visits > (uint64_t)w->mask + 1)
        visits = (uint64_t)w->mask + 1; /* one revolution sees every slot */
    uint32_t fired = 0;
    for (uint64_t i = 0; i < visits; i++)
        fired += visit_slot(w, &w->slots[(from + i) & w->mask], now_ms, fn, ctx);

    if (!w->earliest_valid && w->count > 0) {
        w->earliest_ms = scan_earliest(w);
        w->earliest_valid = true;
    }
    return fired;
}

size_t timer_wheel_count(const timer_wheel_t *w) { return w->count; }

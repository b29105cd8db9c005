/* Session table and state transitions: see session.h. */
#include "session.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "os.h"
#include "worker.h"

int session_table_init(session_table_t *t, uint32_t base, uint32_t count) {
    memset(t, 0, sizeof *t);
    /* calloc: pages of slots never used are never touched, so a large max_sessions costs
     * address space, not memory. */
    t->slots = gs_calloc(count, sizeof *t->slots);
    t->base = base;
    t->count = count;
    t->free_head = t->free_tail = SESSION_ID_NONE;
    return 0;
}

void session_table_destroy(session_table_t *t) {
    gs_free(t->slots);
    memset(t, 0, sizeof *t);
}

session_t *session_table_find(session_table_t *t, uint32_t id) {
    uint32_t index = (id & SESSION_INDEX_MASK) - t->base;
    if ((id & SESSION_INDEX_MASK) < t->base || index >= t->fresh) return NULL;
    session_t *s = &t->slots[index];
    return s->state != SESSION_FREE && s->id == id ? s : NULL;
}

void session_table_each(session_table_t *t, void (*fn)(void *ctx, session_t *s), void *ctx) {
    for (uint32_t i = 0; i < t->fresh; i++)
        if (t->slots[i].state != SESSION_FREE) fn(ctx, &t->slots[i]);
}

static session_t *table_take(session_table_t *t) {
    session_t *s;
    if (t->fresh < t->count) {
        s = &t->slots[t->fresh];
        s->id = t->base + t->fresh; /* generation 0 */
        t->fresh++;
    } else if (t->free_head != SESSION_ID_NONE) {
        s = &t->slots[t->free_head];
        t->free_head = s->next_free;
        if (t->free_head == SESSION_ID_NONE) t->free_tail = SESSION_ID_NONE;
    } else {
        return NULL;
    }
    t->active++;
    return s;
}

static void table_put(session_table_t *t, session_t *s) {
    uint32_t index = (uint32_t)(s - t->slots);
    uint32_t next_gen = ((s->id >> SESSION_INDEX_BITS) + 1u) & 0xffu;
    uint32_t id = (next_gen << SESSION_INDEX_BITS) | (t->base + index);
    memset(s, 0, sizeof *s);
    s->id = id;
    s->state = SESSION_FREE;
    s->next_free = SESSION_ID_NONE;
    if (t->free_tail == SESSION_ID_NONE) t->free_head = index;
    else t->slots[t->free_tail].next_free = index;
    t->free_tail = index;
    t->active--;
}

session_t *session_open(worker_t *w, sock_t fd, const sock_addr_t *peer) {
    session_t *s = table_take(&w->sessions);
    if (!s) return NULL;
    s->state = SESSION_OPEN;
    s->next_free = SESSION_ID_NONE;
    s->opened_us = os_now_us();
    if (peer) sock_ip_pack(peer, &s->peer);
    io_attach(w->loop, &s->io, fd, s->id);
    return s;
}

int session_login(worker_t *w, session_t *s) {
    (void)w;
    if (s->state != SESSION_OPEN) return -EINVAL;
    s->state = SESSION_LOGGED_IN;
    return 0;
}

void session_drain(worker_t *w, session_t *s, reason_t why) {
    (void)w;
    if (s->state != SESSION_OPEN && s->state != SESSION_LOGGED_IN) return;
    s->state = SESSION_DRAINING;
    s->close_reason = (uint8_t)why;
}

static void begin_close(worker_t *w, session_t *s, reason_t why, io_close_mode_t mode) {
    if (!session_is_live(s)) return;
    /* A drained session keeps the reason it was drained for (logout, kick). */
    if (s->state != SESSION_DRAINING || s->close_reason == REASON_NONE) s->close_reason = (uint8_t)why;
    s->abortive = mode == IO_CLOSE_ABORT;
    s->state = SESSION_CLOSING;
    if (s->abortive) sendq_clear(&s->sendq, &w->send_chunks);
    io_close(w->loop, &s->io, mode);
}

void session_close(worker_t *w, session_t *s, reason_t why) { begin_close(w, s, why, IO_CLOSE_NORMAL); }

void session_abort(worker_t *w, session_t *s, reason_t why) { begin_close(w, s, why, IO_CLOSE_ABORT); }

void session_release(worker_t *w, session_t *s) {
    if (s->state != SESSION_CLOSING) return;
    worker_count_disconnect(w, s);
    frame_reader_reset(&s->reader, &w->frame_bufs);
    sendq_clear(&s->sendq, &w->send_chunks);
    table_put(&w->sessions, s);
}

uint8_t *session_send_reserve(worker_t *w, session_t *s, uint16_t op, uint16_t len) {
    if (!session_is_live(s)) return NULL;
    int err = 0;
    uint8_t *p = frame_reserve(&s->sendq, &w->send_chunks, w->cfg->session.send_queue_limit_bytes, op, len, &err);
    if (!p && err == -ENOBUFS) {
        /* The peer stopped reading: buffering on its behalf would let one client hold the
         * server's memory, so it goes. */
        session_abort(w, s, REASON_SLOW_READER);
        return NULL;
    }
    if (!p) {
        /* A reply larger than a send chunk is a server bug, not the client's fault. */
        log_error("frame_too_large", "session=%u op=0x%04x payload_len=%u", s->id, op, len);
        return NULL;
    }
    w->stats.frames_out++;
    worker_mark_dirty(w, s);
    return p;
}

int session_send(worker_t *w, session_t *s, uint16_t op, const void *payload, uint16_t len) {
    uint8_t *p = session_send_reserve(w, s, op, len);
    if (!p) return -EPIPE;
    if (len) memcpy(p, payload, len);
    return 0;
}

/* game_link: the rings between the workers and the logic thread, one per direction per worker
 * (a "lane"), and the records that cross them (worker -> logic: joins, game frames, leaves;
 * logic -> worker: frames, kicks, aborts). It knows neither the worker nor the server: a lane is
 * an index, the lane of a session comes from the id split, and a lane's worker is woken through
 * the callback its owner registered. Nothing here blocks: a full ring is counted and refused. */
#ifndef GSKEL_GAME_LINK_H
#define GSKEL_GAME_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "stat.h"

typedef struct game_link game_link_t;

typedef enum { GAME_IN_JOIN, GAME_IN_FRAME, GAME_IN_LEAVE } game_in_kind_t;
typedef enum { GAME_OUT_FRAME, GAME_OUT_KICK, GAME_OUT_ABORT } game_out_kind_t;

typedef struct game_record {
    uint32_t session;
    uint16_t kind; /* game_in_kind_t or game_out_kind_t, by direction */
    uint16_t op;   /* FRAME: the op; KICK/ABORT: the reason */
    uint16_t len;  /* bytes of data */
    uint8_t data[];
} game_record_t;

/* Room a lane keeps in its ring to the logic thread for JOIN and LEAVE records: frames are
 * refused before these are, or the game would hold a ghost player or never see one. */
#define GAME_LINK_EVENT_HEADROOM 65536u

typedef struct game_link_stats {
    stat_t dropped_in;  /* frames to the logic thread dropped: its ring was full (worker-written, per lane) */
    stat_t dropped_out; /* frames from it dropped: a worker's ring was full (logic-written) */
} game_link_stats_t;

typedef void (*game_record_fn)(void *ctx, const game_record_t *r);

/* One lane per owner of `split`; ring sizes are powers of two (game.*_queue_bytes). */
int game_link_create(game_link_t **out, const session_split_t *split, size_t inbound_bytes, size_t outbound_bytes);
void game_link_destroy(game_link_t *l);
/* Who to wake when the logic thread published records for a lane (before any thread runs). */
void game_link_set_waker(game_link_t *l, uint32_t lane, void (*wake)(void *ctx), void *ctx);
uint32_t game_link_lanes(const game_link_t *l);
/* Drops summed over the lanes. */
void game_link_stats_read(const game_link_t *l, uint64_t *dropped_in, uint64_t *dropped_out);

/* Worker side, on the lane's own worker thread. A record to the logic thread; -ENOBUFS when the
 * ring is full (counted). */
int game_link_post(game_link_t *l, uint32_t lane, uint32_t session, game_in_kind_t kind, uint16_t op,
                   const void *data, uint16_t len);
/* Hands every record the logic thread published for the lane to fn, oldest first. */
void game_link_drain(game_link_t *l, uint32_t lane, game_record_fn fn, void *ctx);

/* Logic side, on the logic thread. Every lane's inbound records, lane by lane, oldest first:
 * the frames of one session come in the order they arrived (a session lives on one lane). */
void game_link_take_inbound(game_link_t *l, game_record_fn fn, void *ctx);
/* Room for a record to the lane owning `session`; NULL when it cannot go (counted). At most one
 * open at a time; game_link_commit makes it part of the next publish. */
game_record_t *game_link_reserve(game_link_t *l, uint32_t session, game_out_kind_t kind, uint16_t op, uint16_t len);
void game_link_commit(game_link_t *l);
/* Makes everything committed since the last publish visible to its lanes at once (one tick's
 * frames leave in one send per session) and wakes those lanes. */
void game_link_publish(game_link_t *l);

#endif

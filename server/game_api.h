/* game_api: everything a game module (server/game/) may call. Game code runs on ONE logic thread
 * at a fixed tick (game.tick_hz): each tick, the frames that arrived since the last one are
 * handed to the op handlers in order per session, then every module's on_tick runs. Frames sent
 * during a tick reach their sessions' workers together and leave in one send per session.
 * Game code never touches sockets, workers or sessions directly: it names sessions by id (the
 * u32 of LOGIN_OK) and the skeleton does the rest, including every close path. */
#ifndef GSKEL_GAME_API_H
#define GSKEL_GAME_API_H

#include <stddef.h>
#include <stdint.h>

#include "reason.h"

typedef struct game game_t;

/* A frame for a game op (0x0100 and up), from a logged-in session. Return 0, or call
 * game_abort/game_kick for a bad or cheating client. `payload` is valid during the call only. */
typedef void (*game_op_fn)(game_t *g, void *state, uint32_t session, const uint8_t *payload, uint16_t len);

typedef struct game_module {
    const char *name;
    /* Called once on the logic thread before the first tick; registers ops, allocates state. */
    int (*init)(game_t *g, void **state);
    /* A session logged in (name as sent in LOGIN) / ended, whatever the reason. */
    void (*on_join)(game_t *g, void *state, uint32_t session, const char *name, size_t name_len);
    void (*on_leave)(game_t *g, void *state, uint32_t session);
    /* Once per tick, after the tick's frames were handled; tick counts from 0. */
    void (*on_tick)(game_t *g, void *state, uint64_t tick);
    void (*destroy)(void *state);
} game_module_t;

/* The modules compiled in (server/game/modules.c): a fork lists its own there. NULL-terminated. */
extern const game_module_t *const game_modules[];

/* From init only. -EEXIST if the op is taken, -ERANGE outside 0x0100..DISPATCH_MAX_OPS-1. */
int game_register_op(game_t *g, uint16_t op, const char *name, game_op_fn fn, void *state);

/* Queues a frame to a session (dropped silently if the session has ended meanwhile). -EMSGSIZE
 * if header + payload pass session.max_frame_bytes; -ENOBUFS if the queue to its worker is full
 * this tick (counted in gskel_game_dropped_out_total). */
int game_send(game_t *g, uint32_t session, uint16_t op, const void *payload, uint16_t len);
/* The same, building the payload in place; NULL if full. Must be followed by game_send_commit. */
uint8_t *game_send_reserve(game_t *g, uint32_t session, uint16_t op, uint16_t len);
void game_send_commit(game_t *g);

/* Kick with notice (KICK frame, grace, RST) / abort (RST now, e.g. REASON_CHEAT). Ordered after
 * the frames already sent to the session. */
void game_kick(game_t *g, uint32_t session, reason_t why, const char *text);
void game_abort(game_t *g, uint32_t session, reason_t why);

/* Who a session's player is: the account id of its LOGIN ticket (0 with auth.mode "none") and its
 * display name (NUL-terminated, *len bytes). 0 / NULL for a session the game does not have. */
uint64_t game_session_account(const game_t *g, uint32_t session);
const char *game_session_name(const game_t *g, uint32_t session, size_t *len);
/* The session this instance's game has for an account, or UINT32_MAX: how a message published to
 * every instance reaches one player (the instance that holds the account delivers it). */
uint32_t game_account_session(const game_t *g, uint64_t account);

/* Messages between instances (docs/scaling.md). A module subscribes to channels from its init; a
 * message published on a channel reaches every subscriber on every instance, in the order its
 * publisher sent them: on this one at the next tick (Redis or not), on the others at their first
 * tick after Redis delivers it. With no cluster (cluster.redis.address empty) only this instance.
 * Channel names 1..32 bytes, messages at most 1,024 bytes, GAME_SUBSCRIPTIONS_MAX subscriptions. */
#define GAME_SUBSCRIPTIONS_MAX 16
typedef void (*game_message_fn)(game_t *g, void *state, const uint8_t *data, size_t len);
/* From init only: -ENOSPC past GAME_SUBSCRIPTIONS_MAX, -EINVAL for a bad name. */
int game_subscribe(game_t *g, const char *channel, game_message_fn fn, void *state);
/* 0; -EMSGSIZE past the limits; -ENOBUFS if the queue to the cluster or this tick's local ones
 * (64 KiB) is full: then nobody gets it, counted in gskel_game_messages_dropped_total. While Redis
 * is away this instance still gets it and the others do not (gskel_cluster_send_failed_total). */
int game_publish(game_t *g, const char *channel, const void *data, size_t len);

/* The tick's time (monotonic ms, the same for the whole tick) and the tick period. */
uint64_t game_now_ms(const game_t *g);
uint32_t game_tick_ms(const game_t *g);
/* The config the server started with (game.* keys are not live: a reload needs a restart). */
const struct cfg *game_config(const game_t *g);

#endif

/* logic: the one game-logic thread. Owns the fixed tick, the game modules and the ops they
 * register (recorded here; the server registers them with dispatch), the game API of
 * game_api.h, and the tick-time histogram. It speaks to workers only through the game link
 * (game_link.h) and never touches a session, a worker or the server. */
#ifndef GSKEL_LOGIC_H
#define GSKEL_LOGIC_H

#include <stdint.h>

#include "cluster.h"
#include "config.h"
#include "game_api.h"
#include "game_link.h"
#include "stats.h"

typedef struct game logic_t; /* the logic thread is the game context */

/* What the logic thread runs on: the config it started with and its link to the workers. */
typedef struct logic_env {
    const cfg_t *cfg;
    game_link_t *link;
    cluster_t *cluster; /* NULL: messages stay on this instance */
} logic_env_t;

/* Starts the thread if any module is compiled in (*out stays NULL if none) and waits until every
 * module's init has run on it (so every op is recorded before a worker reads dispatch). */
int logic_start(logic_t **out, const logic_env_t *env, char *err, size_t err_len);
void logic_stop(logic_t *l);
const logic_stats_t *logic_stats(const logic_t *l);
/* The game ops the modules registered, each once (the server hands them to dispatch). */
void logic_each_op(const logic_t *l, void (*fn)(void *ctx, uint16_t op, const char *name), void *ctx);

#endif

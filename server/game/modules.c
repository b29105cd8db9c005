/* The game modules compiled into this server, in the order their hooks run. A fork lists its own
 * modules here (docs/forking.md); the sample game is the first entry until a fork replaces it. */
#include "game_api.h"

extern const game_module_t zone_module;    /* zone.c: the sample game (game.zone_enabled) */
extern const game_module_t counter_module; /* counter.c: the worked example of docs/forking.md */
extern const game_module_t shout_module;   /* shout.c: messages between instances (docs/scaling.md) */

const game_module_t *const game_modules[] = {
    &zone_module,
    &counter_module,
    &shout_module,
    NULL,
};

/* The game modules compiled into this server, in the order their hooks run. A fork lists its own
 * modules here (docs/forking.md); the sample game is the first entry until a fork replaces it. */
#include "game_api.h"

const game_module_t *const game_modules[] = {
    NULL,
};

/* cli: the command line of shared/DESIGN.md. Parses flags, loads and validates the config with
 * the flags laid over it, and says what to do (serve, check, print, help). Errors come back as
 * one line for main to print; usage and config errors both mean exit status 2. */
#ifndef GSKEL_CLI_H
#define GSKEL_CLI_H

#include <stdio.h>

#include "config.h"

typedef enum { CLI_SERVE, CLI_CHECK_CONFIG, CLI_PRINT_CONFIG, CLI_HELP, CLI_VERSION } cli_action_t;

typedef struct cli {
    cli_action_t action;
    const char *config_path; /* NULL = built-in defaults */
    const char *port, *backend, *workers; /* flags laid over the file, kept for reloads */
    cfg_t cfg;               /* effective config: defaults, file, then flags */
} cli_t;

/* Returns 0, or -EINVAL with a one-line message in err (no trailing newline). */
int cli_parse(cli_t *out, int argc, char **argv, char err[CFG_ERR_MAX]);
void cli_usage(FILE *out);
/* SIGHUP: the config file read again, with the same flags laid over it, into *out. */
int cli_reload(const cli_t *c, cfg_t *out, char err[CFG_ERR_MAX]);

#endif

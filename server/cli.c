/* Command-line parsing: see cli.h. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Only the form is checked here; ranges are the config table's, checked by cfg_validate. */
static int parse_uint(const char *flag, const char *s, uint32_t *out, char err[CFG_ERR_MAX]) {
    char *end = NULL;
    errno = 0;
    unsigned long v = *s && *s != '-' ? strtoul(s, &end, 10) : 0;
    if (!*s || *s == '-' || errno || *end || v > UINT32_MAX) {
        snprintf(err, CFG_ERR_MAX, "%s: must be a non-negative integer, not '%s'", flag, s);
        return -EINVAL;
    }
    *out = (uint32_t)v;
    return 0;
}

static int apply_overrides(const cli_t *o, cfg_t *cfg, char err[CFG_ERR_MAX]) {
    if (o->port && parse_uint("--port", o->port, &cfg->listen.port, err) < 0) return -EINVAL;
    if (o->workers && parse_uint("--workers", o->workers, &cfg->workers, err) < 0) return -EINVAL;
    if (o->backend && cfg_backend_parse(o->backend, &cfg->backend) < 0) {
        snprintf(err, CFG_ERR_MAX, "--backend: must be one of \"auto\", \"io_uring\", \"epoll\", \"iocp\"");
        return -EINVAL;
    }
    char why[CFG_ERR_MAX];
    if (cfg_validate(cfg, why) < 0) {
        snprintf(err, CFG_ERR_MAX, "after command-line flags: %.400s", why);
        return -EINVAL;
    }
    return 0;
}

int cli_parse(cli_t *c, int argc, char **argv, char err[CFG_ERR_MAX]) {
    memset(c, 0, sizeof *c);
    c->action = CLI_SERVE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **value = NULL;
        if (!strcmp(a, "--config")) value = &c->config_path;
        else if (!strcmp(a, "--port")) value = &c->port;
        else if (!strcmp(a, "--backend")) value = &c->backend;
        else if (!strcmp(a, "--workers")) value = &c->workers;
        else if (!strcmp(a, "--check-config")) c->action = CLI_CHECK_CONFIG;
        else if (!strcmp(a, "--print-config")) c->action = CLI_PRINT_CONFIG;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) c->action = CLI_HELP;
        else if (!strcmp(a, "--version")) c->action = CLI_VERSION;
        else {
            snprintf(err, CFG_ERR_MAX, "unknown argument '%s' (try --help)", a);
            return -EINVAL;
        }
        if (value) {
            if (i + 1 >= argc) {
                snprintf(err, CFG_ERR_MAX, "%s needs a value", a);
                return -EINVAL;
            }
            *value = argv[++i];
        }
    }
    if (c->action == CLI_HELP || c->action == CLI_VERSION) return 0;
    return cli_reload(c, &c->cfg, err);
}

int cli_reload(const cli_t *c, cfg_t *out, char err[CFG_ERR_MAX]) {
    cfg_t cfg;
    int rc = c->config_path ? cfg_load_file(&cfg, c->config_path, err) : cfg_load_defaults(&cfg, err);
    if (rc < 0) return rc;
    if ((rc = apply_overrides(c, &cfg, err)) < 0) return rc;
    *out = cfg;
    return 0;
}

void cli_usage(FILE *out) {
    fputs("usage: gskel-server [options]\n"
          "  --config FILE     load FILE over the built-in defaults (config/server.json)\n"
          "  --port N          listen port (overrides listen.port; 0 = any free port)\n"
          "  --backend NAME    auto | io_uring | epoll | iocp (overrides backend)\n"
          "  --workers N       worker threads, 0 = one per core (overrides workers)\n"
          "  --check-config    validate the config and exit (0 = valid, 2 = invalid)\n"
          "  --print-config    print the effective config as JSON and exit\n"
          "  --version         print the version and exit\n"
          "  --help            this text\n"
          "Signals: SIGINT/SIGTERM stop gracefully; SIGHUP reloads the config file (limits, timeouts,\n"
          "log level and socket buffers change live; the rest is reported as needing a restart).\n"
          "Exit status: 0 after SIGINT/SIGTERM, 2 for bad usage or config, 1 for run-time failure.\n",
          out);
}

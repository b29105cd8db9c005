/* gskel-server: parse the command line, then serve until SIGINT or SIGTERM. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "io.h"
#include "log.h"
#include "os.h"
#include "server.h"

_Static_assert((int)CFG_LOG_DEBUG == (int)LOG_DEBUG && (int)CFG_LOG_ERROR == (int)LOG_ERROR, "log levels match");
_Static_assert((int)CFG_LOG_LOGFMT == (int)LOG_FORMAT_LOGFMT && (int)CFG_LOG_JSON == (int)LOG_FORMAT_JSON, "log formats match");

/* How often the control thread looks for a stop or a reload the signal handlers noted. */
#define MAIN_CONTROL_POLL_MS 50u

static server_t server;
/* A stop signal can arrive before the workers exist: it is remembered and acted on once they do. */
static atomic_bool server_ready;
static atomic_bool stop_signalled;

static atomic_bool reload_signalled;
static _Atomic uint32_t drain_ms; /* the live listen.drain_ms, for the signal handler */

/* The first stop signal starts the drain (listen.drain_ms; 0: the stop at once); a second one
 * during it stops at once. */
static void on_stop_signal(int signo) {
    (void)signo;
    bool again = atomic_exchange(&stop_signalled, true);
    if (!atomic_load(&server_ready)) return;
    server_begin_drain(&server);
    if (again || !atomic_load(&drain_ms)) server_request_stop(&server);
}

static void on_reload_signal(int signo) {
    (void)signo;
    atomic_store(&reload_signalled, true);
}

/* SIGHUP: a bad file is refused with its error and the running config stays. */
static void reload(const cli_t *cli) {
    cfg_t loaded;
    char err[CFG_ERR_MAX];
    char quoted[CFG_ERR_MAX + 16];
    if (cli_reload(cli, &loaded, err) < 0 || server_reload(&server, &loaded, err, sizeof err) < 0)
        log_error("reload_rejected", "error=%s", log_quote(quoted, sizeof quoted, err));
    /* Key rotation: the key file is read again (auth.key_file itself needs a restart). A file that
     * does not parse leaves the keys in use. */
    if (auth_reload_keys(server.auth, server.cfg.auth.key_file, err, sizeof err) < 0)
        log_error("keys_rejected", "error=%s", log_quote(quoted, sizeof quoted, err));
    else if (server.cfg.auth.mode == CFG_AUTH_TICKET)
        log_info("keys_loaded", "file=%s keys=%u", log_quote(quoted, sizeof quoted, server.cfg.auth.key_file),
                 auth_key_count(server.auth));
    atomic_store(&drain_ms, server.live->listen.drain_ms);
}

static void log_totals(void) {
    worker_stats_t t;
    server_stats(&server, &t);
    log_info("stopped", "accepted=%llu frames_in=%llu frames_out=%llu send_calls=%llu bytes_in=%llu bytes_out=%llu",
             (unsigned long long)t.accepted, (unsigned long long)t.frames_in, (unsigned long long)t.frames_out,
             (unsigned long long)t.send_calls, (unsigned long long)t.bytes_in, (unsigned long long)t.bytes_out);
}

int main(int argc, char **argv) {
    cli_t cli;
    char err[CFG_ERR_MAX];
    if (cli_parse(&cli, argc, argv, err) < 0) {
        fprintf(stderr, "gskel-server: %s\n", err);
        return 2;
    }
    switch (cli.action) {
    case CLI_HELP:
        cli_usage(stdout);
        return 0;
    case CLI_VERSION:
        printf("gskel-server %s\n", GSKEL_VERSION);
        return 0;
    case CLI_CHECK_CONFIG:
    case CLI_SERVE:
        break;
    case CLI_PRINT_CONFIG: {
        char *json = cfg_to_json(&cli.cfg);
        if (!json) {
            fprintf(stderr, "gskel-server: out of memory printing the config\n");
            return 1;
        }
        puts(json);
        free(json);
        return 0;
    }
    }
    /* A backend named outright must be able to run here, for checking as for serving. */
    if (cli.cfg.backend != CFG_BACKEND_AUTO) {
        const io_backend_ops_t *b;
        char why[IO_BACKEND_WHY_MAX];
        if (io_backend_select(cfg_backend_name(cli.cfg.backend), &b, why, sizeof why) < 0) {
            fprintf(stderr, "gskel-server: backend %s: %s\n", cfg_backend_name(cli.cfg.backend), why);
            return 2;
        }
    }
    /* The ticket keys are part of the config: a missing or broken key file is a config error. */
    auth_t *auth = NULL;
    if (auth_create(&auth, &cli.cfg, err, sizeof err) < 0) {
        fprintf(stderr, "gskel-server: %s\n", err);
        return 2;
    }
    if (cli.action == CLI_CHECK_CONFIG) {
        printf("%s: ok\n", cli.config_path ? cli.config_path : "built-in defaults");
        auth_destroy(auth);
        return 0;
    }
    log_configure((log_level_t)cli.cfg.log.level, (log_format_t)cli.cfg.log.format, NULL);
    os_on_stop_signals(on_stop_signal);
    os_on_reload_signal(on_reload_signal);
    if (server_start(&server, &cli.cfg, auth, err, sizeof err) < 0) {
        fprintf(stderr, "gskel-server: %s\n", err);
        /* A backend asked for by name that cannot run here is a usage error, like a bad flag. */
        return cli.cfg.backend != CFG_BACKEND_AUTO || server.config_error ? 2 : 1;
    }
    atomic_store(&drain_ms, server.live->listen.drain_ms);
    atomic_store(&server_ready, true);
    if (atomic_load(&stop_signalled)) server_request_stop(&server);
    /* The main thread is the control thread: it takes signals and reloads, the workers serve. */
    uint64_t drain_started_ms = 0;
    while (!server_stopping(&server)) {
        os_sleep_ms(MAIN_CONTROL_POLL_MS);
        if (atomic_exchange(&reload_signalled, false)) reload(&cli);
        if (!server_draining(&server)) continue;
        uint64_t now = os_now_us() / 1000u;
        if (!drain_started_ms) {
            drain_started_ms = now;
            log_info("draining", "drain_ms=%u", atomic_load(&drain_ms));
        }
        if (now - drain_started_ms >= atomic_load(&drain_ms)) server_request_stop(&server);
    }
    int status = server_wait(&server);
    /* Workers are joined and only this thread takes signals now: a late SIGTERM must not reach
     * a server being freed. */
    atomic_store(&server_ready, false);
    log_totals();
    server_destroy(&server);
    auth_destroy(auth);
    return status == 0 ? 0 : 1;
}

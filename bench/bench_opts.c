/* gskel-bench's command line: see bench.h. Every value has a bound, so no flag can make a run
 * unbounded in connections, time or memory. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

static const bench_scenario_t *const bench_scenarios[] = {
    &bench_echo, &bench_connect, &bench_hold, &bench_kick, &bench_churn, &bench_slow, &bench_game, NULL,
};

void bench_usage(FILE *f)
{
    fputs("usage: gskel-bench SCENARIO [--host H] [--port N] [--conns N] [--duration S] [--json]\n"
          "scenarios:\n", f);
    for (int i = 0; bench_scenarios[i]; i++)
        fprintf(f, "  %-8s %s\n", bench_scenarios[i]->name, bench_scenarios[i]->what);
    fputs("common options:\n"
          "  --host H          server address, loopback only (default 127.0.0.1)\n"
          "  --port N          server port (default 7777)\n"
          "  --conns N         connections (echo, hold, kick, slow), concurrent loops (connect, churn)\n"
          "                    or players (game)\n"
          "  --duration S      measured seconds (kick, slow: the most seconds to wait)\n"
          "  --server-pid PID  sample the server's CPU (schedstat) and memory (VmRSS) from /proc\n"
          "  --sources K       spread connections over source addresses 127.0.0.2..127.0.0.(K+1)\n"
          "                    (IPv4 loopback targets; 0 = let the kernel pick; default 16)\n"
          "  --procs N         client processes (default: as few as the 19,000-fd share allows)\n"
          "  --max-frame B     longest frame accepted from the server (default 8192)\n"
          "  --json            print one JSON object\n"
          "  --progress, --no-progress  live line on stderr (default: on a tty, runs over 2 s)\n"
          "scenario options:\n"
          "  --warmup S        seconds before the window, excluded from figures (echo, connect, churn,\n"
          "                    game)\n"
          "  --pipeline P      frames in flight per connection (echo; default 1)\n"
          "  --size B          payload bytes (echo: default 64; slow: default 1024)\n"
          "  --rate R          total msgs/s, paced (echo; 0 = flat out, the default)\n"
          "  --at-once         stop the server (SIGSTOP; needs --server-pid) while every bad frame goes\n"
          "                    out, then let it go on: it finds N kicks waiting at once (kick)\n"
          "  --login           log every connection in first (echo, hold; gskel closes connections\n"
          "                    that stay logged out past session.login_timeout_ms; the reference\n"
          "                    servers only echo, so without it each connection proves itself by ECHO)\n"
          "  --admin-port P    the server's admin endpoint on --host: GET /metrics at the window's\n"
          "                    edges for tick time, bytes and coalescing (game; required)\n"
          "  --tick-hz H       client ticks per second: one MOVE per player each (game; default 20)\n"
          "  --speed U         units per second each player walks; keep it well under the server's\n"
          "                    game.max_speed (game; default 100)\n"
          "  --chat-every N    one CHAT per player every N ticks, broadcast to all (game; 0 = never,\n"
          "                    the default)\n"
          "  --ticket-key F    LOGIN with signed tickets (docs/security.md) made with the secret key\n"
          "                    file F, signed before the run so signing costs the window nothing,\n"
          "                    each with its own nonce (churn; the server in auth.mode \"ticket\")\n",
          f);
}

static int bench_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -EINVAL;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int bench_parse_double(const char *s, double max, double *out)
{
    if (!s || !*s)
        return -EINVAL;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < 0.0 || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Flags that take a value: where it goes, its bound, and the BENCH_O_* bit it needs (0: all). */
typedef struct bench_flag {
    const char *name;
    unsigned need;
    enum { BF_U32, BF_U16, BF_PID, BF_DBL, BF_STR } kind;
    size_t off;
    double max;
} bench_flag_t;

#define BF(name, need, kind, field, max) { name, need, kind, offsetof(bench_opts_t, field), max }

static const bench_flag_t bench_flags[] = {
    BF("--host", 0, BF_STR, host, 0),
    BF("--port", 0, BF_U16, port, 65535),
    BF("--conns", 0, BF_U32, conns, BENCH_MAX_CONNS),
    BF("--duration", 0, BF_DBL, duration_s, BENCH_MAX_DURATION_S),
    BF("--server-pid", 0, BF_PID, server_pid, 4194304),
    BF("--sources", 0, BF_U32, sources, 250),
    BF("--procs", 0, BF_U32, procs, BENCH_MAX_PROCS),
    BF("--max-frame", 0, BF_U32, max_frame, FRAME_MAX_BYTES),
    BF("--warmup", BENCH_O_WARMUP, BF_DBL, warmup_s, 60),
    BF("--pipeline", BENCH_O_PIPELINE, BF_U32, pipeline, 1024),
    BF("--size", BENCH_O_SIZE, BF_U32, size, FRAME_MAX_BYTES - FRAME_HEADER_BYTES),
    BF("--rate", BENCH_O_RATE, BF_DBL, rate, 20e6),
    BF("--admin-port", BENCH_O_GAME, BF_U16, admin_port, 65535),
    BF("--tick-hz", BENCH_O_GAME, BF_DBL, tick_hz, 1000),
    BF("--speed", BENCH_O_GAME, BF_DBL, speed, 1e6),
    BF("--chat-every", BENCH_O_GAME, BF_U32, chat_every, 1000000),
    BF("--ticket-key", BENCH_O_TICKET, BF_STR, ticket_key, 0),
};

static int bench_set(bench_opts_t *o, const bench_flag_t *fl, const char *v)
{
    void *p = (char *)o + fl->off;
    uint64_t u;
    switch (fl->kind) {
    case BF_STR:
        if (!v || !*v)
            return -EINVAL;
        *(const char **)p = v;
        return 0;
    case BF_DBL:
        return bench_parse_double(v, fl->max, (double *)p);
    case BF_U16:
        if (bench_parse_u64(v, (uint64_t)fl->max, &u) < 0)
            return -EINVAL;
        *(uint16_t *)p = (uint16_t)u;
        return 0;
    case BF_PID:
        if (bench_parse_u64(v, (uint64_t)fl->max, &u) < 0 || u == 0)
            return -EINVAL;
        *(pid_t *)p = (pid_t)u;
        return 0;
    case BF_U32:
        if (bench_parse_u64(v, (uint64_t)fl->max, &u) < 0)
            return -EINVAL;
        *(uint32_t *)p = (uint32_t)u;
        return 0;
    }
    return -EINVAL;
}

uint32_t bench_conns_per_proc(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return BENCH_CONNS_PER_PROC;
    if (rl.rlim_cur <= 2 * BENCH_FD_HEADROOM)
        return (uint32_t)(rl.rlim_cur / 2);
    rlim_t n = rl.rlim_cur - BENCH_FD_HEADROOM;
    return n < BENCH_CONNS_PER_PROC ? (uint32_t)n : BENCH_CONNS_PER_PROC;
}

static const bench_scenario_t *bench_find(const char *name)
{
    for (int i = 0; bench_scenarios[i]; i++)
        if (!strcmp(bench_scenarios[i]->name, name))
            return bench_scenarios[i];
    return NULL;
}

/* Checks that need every flag parsed first. */
static int bench_opts_check(bench_opts_t *o, char *err, size_t err_len)
{
    if (o->conns == 0) {
        snprintf(err, err_len, "--conns must be at least 1");
        return -1;
    }
    if (o->duration_s <= 0.0) {
        snprintf(err, err_len, "--duration must be more than 0");
        return -1;
    }
    if (o->pipeline == 0) {
        snprintf(err, err_len, "--pipeline must be at least 1");
        return -1;
    }
    if (o->port == 0) {
        snprintf(err, err_len, "--port must be 1..65535");
        return -1;
    }
    if (o->max_frame < 16) {
        snprintf(err, err_len, "--max-frame must be at least 16");
        return -1;
    }
    if (o->size + FRAME_HEADER_BYTES > o->max_frame) {
        snprintf(err, err_len, "--size %u does not fit --max-frame %u", o->size, o->max_frame);
        return -1;
    }
    uint32_t procs_needed = (o->conns + o->per_proc - 1) / o->per_proc;
    if (procs_needed > BENCH_MAX_PROCS) {
        snprintf(err, err_len, "--conns %u needs %u client processes (%u connections each), more than %u",
                 o->conns, procs_needed, o->per_proc, BENCH_MAX_PROCS);
        return -1;
    }
    if (o->procs && o->procs < procs_needed) {
        snprintf(err, err_len, "--procs %u cannot hold %u connections (%u per process at most)",
                 o->procs, o->conns, o->per_proc);
        return -1;
    }
    if (o->procs > o->conns) {
        snprintf(err, err_len, "--procs %u is more than --conns %u", o->procs, o->conns);
        return -1;
    }
    if (o->at_once && !o->server_pid) {
        snprintf(err, err_len, "--at-once needs --server-pid");
        return -1;
    }
    if ((o->scenario->opts & BENCH_O_GAME) && o->admin_port == 0) {
        snprintf(err, err_len, "--admin-port is required (1..65535) for scenario %s", o->scenario->name);
        return -1;
    }
    if ((o->scenario->opts & BENCH_O_GAME) && o->tick_hz < 0.1) {
        snprintf(err, err_len, "--tick-hz must be at least 0.1");
        return -1;
    }
    if (o->admin_port && client_target_resolve(&o->admin_target, o->host, o->admin_port) < 0) {
        snprintf(err, err_len, "--host %s: cannot resolve", o->host);
        return -1;
    }
    if (client_target_resolve(&o->target, o->host, o->port) < 0) {
        snprintf(err, err_len, "--host %s: cannot resolve", o->host);
        return -1;
    }
    /* The bench floods, holds and resets connections: it only ever aims at this machine. */
    if (!client_target_is_loopback(&o->target)) {
        snprintf(err, err_len, "--host %s: only loopback targets are allowed", o->host);
        return -1;
    }
    return 0;
}

int bench_opts_parse(bench_opts_t *o, int argc, char **argv, char *err, size_t err_len)
{
    memset(o, 0, sizeof *o);
    if (argc < 2) {
        snprintf(err, err_len, "missing SCENARIO (try --help)");
        return -1;
    }
    o->scenario = bench_find(argv[1]);
    if (!o->scenario) {
        snprintf(err, err_len, "unknown scenario '%s' (try --help)", argv[1]);
        return -1;
    }
    const bench_scenario_t *s = o->scenario;
    o->host = "127.0.0.1";
    o->port = 7777;
    o->conns = s->default_conns;
    o->duration_s = s->default_duration_s;
    o->warmup_s = s->default_warmup_s;
    o->pipeline = 1;
    o->size = s == &bench_slow ? 1024 : 64;
    o->sources = 16;
    o->max_frame = 8192;
    o->progress = -1;
    o->tick_hz = 20.0;
    o->speed = 100.0;
    o->per_proc = bench_conns_per_proc();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            o->json = true;
            continue;
        }
        if (!strcmp(a, "--progress") || !strcmp(a, "--no-progress")) {
            o->progress = a[2] == 'p';
            continue;
        }
        if (!strcmp(a, "--login")) {
            if (!(s->opts & BENCH_O_LOGIN))
                goto not_here;
            o->login = true;
            continue;
        }
        if (!strcmp(a, "--at-once")) {
            if (!(s->opts & BENCH_O_AT_ONCE))
                goto not_here;
            o->at_once = true;
            continue;
        }
        const bench_flag_t *fl = NULL;
        for (size_t k = 0; k < sizeof bench_flags / sizeof bench_flags[0]; k++)
            if (!strcmp(a, bench_flags[k].name))
                fl = &bench_flags[k];
        if (!fl) {
            snprintf(err, err_len, "unknown argument '%s' (try --help)", a);
            return -1;
        }
        if (fl->need && !(s->opts & fl->need))
            goto not_here;
        if (i + 1 >= argc) {
            snprintf(err, err_len, "%s needs a value", a);
            return -1;
        }
        if (bench_set(o, fl, argv[++i]) < 0) {
            if (fl->kind == BF_STR)
                snprintf(err, err_len, "%s: must not be empty", a);
            else
                snprintf(err, err_len, "%s: bad value '%s' (a number, at most %.0f)", a, argv[i], fl->max);
            return -1;
        }
        continue;
    not_here:
        snprintf(err, err_len, "%s does not apply to scenario %s", a, s->name);
        return -1;
    }
    return bench_opts_check(o, err, err_len);
}

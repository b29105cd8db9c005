/* bench: what gskel-bench's parts share: options, the scenario table, one client process's
 * context and the figures it hands back. A run is one coordinator process (bench_fanout.c: it
 * times the window, samples the server from /proc, prints progress and adds results up) and one
 * or more client processes, each running a scenario's share of the connections on one epoll loop.
 * Nothing here talks to anything but loopback, and every phase has a deadline. */
#ifndef GSKEL_BENCH_H
#define GSKEL_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "client.h"
#include "histogram.h"

/* Connections per client process: at most this, and 1,000 fewer than RLIMIT_NOFILE (20,000 on
 * the machines this was written on, and not raisable), leaving room for epoll, pipes and stdio. */
#define BENCH_CONNS_PER_PROC 19000u
#define BENCH_FD_HEADROOM 1000u
#define BENCH_MAX_CONNS 200000u
#define BENCH_MAX_PROCS 64u
#define BENCH_MAX_DURATION_S 600.0
/* Handshakes in flight per process: far under the listen backlog (somaxconn 4096), so no SYN is
 * dropped and no connect waits for a 1 s SYN retransmit. */
#define BENCH_CONNECT_WINDOW 256u
/* After the window: how long in-flight requests may take to come back before counting as lost. */
#define BENCH_DRAIN_NS (2ull * 1000000000ull)
#define BENCH_NS_PER_S 1000000000ull

/* Options a scenario accepts (bench_scenario_t.opts). */
enum {
    BENCH_O_WARMUP = 1 << 0,
    BENCH_O_PIPELINE = 1 << 1,
    BENCH_O_SIZE = 1 << 2,
    BENCH_O_RATE = 1 << 3,
    BENCH_O_LOGIN = 1 << 4,
    BENCH_O_GAME = 1 << 5, /* --admin-port, --tick-hz, --speed, --chat-every */
    BENCH_O_AT_ONCE = 1 << 6, /* --at-once */
    BENCH_O_TICKET = 1 << 7,  /* --ticket-key */
};

struct bench_scenario;

typedef struct bench_opts {
    const struct bench_scenario *scenario;
    const char *host;
    uint16_t port;
    uint32_t conns;
    double duration_s;
    double warmup_s;
    uint32_t pipeline;
    uint32_t size;      /* payload bytes */
    double rate;        /* total msgs/s; 0 = flat out */
    pid_t server_pid;   /* 0: none */
    uint32_t sources;   /* source addresses 127.0.0.2.. (IPv4 loopback targets); 0 = kernel's */
    uint32_t procs;     /* client processes; 0 = as few as the fd ceiling allows */
    uint32_t max_frame; /* longest frame accepted from the server */
    uint32_t per_proc;  /* connections one client process may hold (fd ceiling) */
    uint16_t admin_port; /* the server's admin endpoint, scraped at the window's edges; 0: none */
    double tick_hz;      /* game: client ticks per second (one MOVE per player each) */
    double speed;        /* game: units per second a player walks */
    uint32_t chat_every; /* game: ticks between one player's CHATs; 0 = never */
    const char *ticket_key; /* churn: LOGIN with tickets signed by this secret key file */
    bool login;
    bool at_once;       /* kick: the server is stopped (SIGSTOP) while the frames go out */
    bool json;
    int progress;       /* -1 auto (tty and a run over 2 s), 0 off, 1 on */
    client_target_t target;
    client_target_t admin_target;
} bench_opts_t;

/* Counters a client process hands back; the coordinator sums them (ELAPSED_NS: max). */
enum bench_stat {
    BENCH_DONE,       /* the scenario's unit of work completed inside the window */
    BENCH_ERRORS,
    BENCH_CONNS,      /* connections established in set-up */
    BENCH_RESETS,     /* ECONNRESET / EPIPE seen */
    BENCH_EOFS,       /* end of stream (FIN) seen */
    BENCH_SENT,       /* requests sent (whole run) */
    BENCH_LOST,       /* requests never answered */
    BENCH_ELAPSED_NS, /* scenario-defined duration (kick: until the last reset) */
    BENCH_KICKS,      /* KICK frames received */
    BENCH_CHAT_SENT,  /* game: CHATs sent in the window */
    BENCH_CHAT_RECV,  /* game: CHAT_MSGs received in the window */
    BENCH_ITEMS,      /* game: entries in the snapshots counted in BENCH_DONE */
    BENCH_STAT_COUNT
};

typedef struct bench_part {
    uint64_t stat[BENCH_STAT_COUNT];
    hist_t hist; /* ns */
} bench_part_t;

/* Live counters in memory shared with the coordinator, for the progress line. */
typedef struct bench_live {
    _Atomic uint64_t done, errors, conns;
    _Atomic uint64_t sent; /* kick: connections whose bad frame is out (or failed to go) */
} bench_live_t;

/* Absolute CLOCK_MONOTONIC times of a run. Figures count only [begin, end). */
typedef struct bench_window {
    uint64_t start_ns, begin_ns, end_ns;
} bench_window_t;

typedef struct bench_child {
    const bench_opts_t *o;
    uint32_t index;        /* process number */
    uint32_t first, count; /* its connections: global numbers first..first+count-1 */
    int ctl_fd, res_fd;    /* from / to the coordinator */
    bench_live_t *live;
    bench_part_t *part;
    client_rx_t rx;
    uint32_t src_next;     /* round robin over source addresses */
} bench_child_t;

/* Tells the coordinator this process is set up and waits for the start. Returns 0 with the
 * window, or -1 if the coordinator has gone. */
int bench_child_go(bench_child_t *ch, bench_window_t *w);

/* Sleeps until the CLOCK_MONOTONIC time t (ns). */
void bench_sleep_until(uint64_t t);

/* Opens one connection from the next source address. Returns the fd or -errno. */
int bench_child_open(bench_child_t *ch, int flags, bool *in_progress);

/* What a set-up connection proves before it counts: one reply to ECHO, or a LOGIN_OK. */
typedef enum { BENCH_PROVE_NONE, BENCH_PROVE_ECHO, BENCH_PROVE_LOGIN } bench_prove_t;

/* Opens n connections (CONNECTING_WINDOW at a time), each proving itself. Failed ones have fd
 * -1 and count in BENCH_ERRORS; the rest are non-blocking, with nothing unread. Returns the
 * count established. */
uint32_t bench_connect_all(bench_child_t *ch, client_conn_t *conns, uint32_t n, bench_prove_t prove);
/* What most children start with: n connections (bench_connect_all) in a new array, and an epoll
 * set in *ep with nothing in it yet. NULL if either cannot be had. */
client_conn_t *bench_connect_polled(bench_child_t *ch, uint32_t n, bench_prove_t prove, int *ep);
/* Adds every open connection of conns[0..n) to ep for `events`, data.u32 = its index; returns
 * how many were added. */
uint32_t bench_poll_all(int ep, client_conn_t *conns, uint32_t n, uint32_t events);

/* Connection loops (connect, churn): each of N slots connects, runs a short exchange, closes
 * first (FIN from the client, as the protocol asks) and starts over until the window ends. */
typedef enum { BENCH_SLOT_MORE, BENCH_SLOT_DONE, BENCH_SLOT_FAIL } bench_slot_step_t;

typedef struct bench_slot {
    client_conn_t c;
    uint32_t index; /* global slot number */
    uint8_t st;     /* the engine's */
    uint8_t step;   /* the scenario's: 0 when the connection is new */
    uint64_t t0;    /* when this loop began */
} bench_slot_t;

/* Called once the connection is up (f NULL), then for each frame: sends what comes next
 * (bench_slot_send) and says whether the loop goes on, is complete, or failed. */
typedef bench_slot_step_t (*bench_slot_fn)(bench_slot_t *s, const frame_t *f);

int bench_slot_send(bench_slot_t *s, uint16_t op, const void *payload, size_t len);
/* Runs ch->count slots through the window; completed loops in [begin, end) are BENCH_DONE, with
 * their duration in the histogram. */
int bench_slots_run(bench_child_t *ch, bench_slot_fn fn);

/* Memory and socket figures the coordinator samples from /proc. */
typedef struct bench_mem {
    uint64_t rss, slab; /* bytes: the server's VmRSS; the kernel's Slab */
    bool ok;
} bench_mem_t;

enum { BENCH_TCP_STATES = 12 }; /* /proc/net/tcp "st" codes 0x01..0x0B */
#define BENCH_TCP_ESTABLISHED 0x01
#define BENCH_TCP_TIME_WAIT 0x06
#define BENCH_TCP_CLOSE_WAIT 0x08

typedef struct bench_tcp {
    uint32_t state[BENCH_TCP_STATES];
} bench_tcp_t;

int bench_proc_cpu_ns(pid_t pid, uint64_t *ns);
int bench_proc_rss(pid_t pid, uint64_t *bytes);
int bench_proc_slab(uint64_t *bytes);
/* Connections on the server's port before the run: not the server's. Port 0 may hand the server
 * a port number on which another program's client socket still sits in TIME_WAIT (the kernel
 * allows the bind); counted as the server's, it would be a TIME_WAIT the server never made. */
enum { BENCH_TCP_FOREIGN_MAX = 64 };
typedef struct bench_tcp_foreign {
    uint32_t n;
    char pair[BENCH_TCP_FOREIGN_MAX][2][48]; /* local, remote as /proc/net/tcp writes them */
} bench_tcp_foreign_t;
int bench_proc_tcp_foreign(uint16_t port, bench_tcp_foreign_t *out);
/* Sockets whose local (local=true) or remote port is port, by state, from /proc/net/tcp{,6},
 * leaving out those in foreign (NULL: none). */
int bench_proc_tcp(uint16_t port, bool local, const bench_tcp_foreign_t *foreign, bench_tcp_t *out);

/* The server's admin GET /metrics (Prometheus text), as far as the bench reads it: counters are
 * NAN when absent; the tick histogram's buckets are kept cumulative, in ascending order. */
#define BENCH_METRICS_BUCKETS 32
#define BENCH_METRICS_REASONS 32
#define BENCH_METRICS_MAX_BYTES (1u << 20)

typedef struct bench_metrics {
    double bytes_sent, frames_sent, send_calls;
    double tick_count, tick_sum, tick_overruns, dropped_in, dropped_out;
    uint32_t buckets;
    double le[BENCH_METRICS_BUCKETS]; /* upper bounds; the last is +Inf in a whole histogram */
    double cum[BENCH_METRICS_BUCKETS];
    uint32_t reasons; /* gskel_disconnects_total by reason */
    char reason[BENCH_METRICS_REASONS][24];
    double disconnects[BENCH_METRICS_REASONS];
} bench_metrics_t;

/* Parses exposition text (len bytes, not NUL-terminated). Returns 0, or -EINVAL on a line that
 * is not `name[{labels}] value` or on more buckets or reasons than fit. */
int bench_metrics_parse(const char *text, size_t len, bench_metrics_t *m);
/* GET /metrics over plain HTTP/1.1 with `Connection: close`; reads the whole response by its
 * Content-Length and closes first (the server waits for that). Returns 0, -ETIMEDOUT, -EPROTO
 * (not a 200 with a length), -EMSGSIZE, or -errno. */
int bench_metrics_fetch(const client_target_t *admin, int timeout_ms, bench_metrics_t *m);
/* The q-quantile (0..1) of the tick histogram observed between two scrapes (a NULL: since the
 * start), interpolated linearly inside its bucket exactly as Prometheus' histogram_quantile:
 * the upper bound of the last finite bucket when it falls in +Inf. NAN when there is nothing to
 * read: no observations, bucket bounds that differ, a count that went down, or no +Inf bucket. */
double bench_metrics_quantile(const bench_metrics_t *a, const bench_metrics_t *b, double q);
/* b - a for one counter; NAN when either is absent or it went down (a restart). */
double bench_metrics_delta(double a, double b);

/* What the coordinator gathered over one run. */
typedef struct bench_run {
    const bench_opts_t *o;
    uint32_t procs;
    bench_part_t total;
    bench_window_t win;
    double window_s;
    bench_mem_t before, ready, after;
    uint64_t rss_peak;
    uint64_t cpu_ns; /* server CPU over the window */
    bool cpu_ok;
    bench_tcp_t server_tcp, client_tcp;
    bench_tcp_foreign_t tcp_foreign; /* on the server's port before the run */
    bool tcp_ok;
    /* With --admin-port: scraped before the first connection, at begin_ns and at end_ns. */
    bench_metrics_t admin_before, admin_begin, admin_end;
    bool admin_ok;
} bench_run_t;

/* Figures out, as one JSON object (--json) or one "key: value" line each. */
typedef struct bench_out {
    FILE *f;
    bool json;
    int n;
} bench_out_t;

void bench_out_begin(bench_out_t *out, FILE *f, bool json);
void bench_out_u64(bench_out_t *out, const char *key, uint64_t v);
void bench_out_num(bench_out_t *out, const char *key, double v, int decimals);
void bench_out_str(bench_out_t *out, const char *key, const char *v);
void bench_out_bool(bench_out_t *out, const char *key, bool v);
void bench_out_end(bench_out_t *out);
/* Percentiles of r->total.hist (ns) as p50_us, p90_us, p99_us, p999_us, max_us, mean_us. */
void bench_out_latency(bench_out_t *out, const bench_run_t *r);
/* The server's TIME_WAIT/CLOSE_WAIT (and the client's when both) as counted after the run. */
void bench_out_tcp(bench_out_t *out, const bench_run_t *r, bool client_side_too);

/* The figures both loop scenarios print; `unit` names the rate ("connects", "loops"). */
void bench_slots_report(const bench_run_t *r, bench_out_t *out, const char *unit);

typedef struct bench_scenario {
    const char *name;
    const char *what; /* one line for --help */
    unsigned opts;    /* BENCH_O_* it accepts beyond the common ones */
    uint32_t default_conns;
    double default_duration_s;
    double default_warmup_s;
    uint32_t settle_ms; /* after the clients are done, before sockets and memory are counted */
    /* When the clients are done before the window ends: how long the server's CPU still counts,
     * for work that outlives what the clients see (a kick's close after its RST). */
    uint32_t cpu_settle_ms;
    int (*child)(bench_child_t *ch);
    void (*report)(const bench_run_t *r, bench_out_t *out);
} bench_scenario_t;

extern const bench_scenario_t bench_echo, bench_connect, bench_hold, bench_kick, bench_churn, bench_slow,
    bench_game;

/* Connections per client process under this process's RLIMIT_NOFILE. */
uint32_t bench_conns_per_proc(void);

/* Parses argv into o; on bad usage writes one line to err and returns -1. */
int bench_opts_parse(bench_opts_t *o, int argc, char **argv, char *err, size_t err_len);
void bench_usage(FILE *f);

/* Runs o's scenario over as many client processes as needed and fills r. Returns 0, or -1 with
 * a reason in err. */
int bench_fanout_run(const bench_opts_t *o, bench_run_t *r, char *err, size_t err_len);

#endif

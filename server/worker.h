/* worker: one event loop on one thread, owning its listener, its slice of the session table,
 * its pools and its counters. Everything on the hot path happens here without locks; other
 * threads reach a worker only through its command queue (worker_post) and worker_request_stop.
 * It owns the sessions through the session layer (session.h) and answers that layer's hooks. */
#ifndef GSKEL_WORKER_H
#define GSKEL_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "dispatch.h"
#include "game_link.h"
#include "guard.h"
#include "io.h"
#include "loop_clock.h"
#include "mpsc.h"
#include "os.h"
#include "pool.h"
#include "reason.h"
#include "session.h"
#include "stats.h"
#include "timer.h"
#include "token_bucket.h"

/* Timer wheel resolution and size (one revolution = 40.96 s). Resolutions, not limits: the limits
 * are session.* config keys. */
#define WORKER_TICK_MS 10u
#define WORKER_WHEEL_SLOTS 4096u
/* Partial-frame buffers are taken a slab of this many at a time (few sessions hold one at once). */
#define WORKER_FRAME_BUFS_PER_SLAB 16u
/* A session listing starts with room for this many records and doubles. */
#define WORKER_LISTING_FIRST_CAP 64u


/* Work for a worker from another thread (admin endpoint, logic thread), by session id. */
typedef enum {
    WORKER_CMD_KICK,     /* session_id: kick with notice (KICK frame, grace, then RST) */
    WORKER_CMD_ABORT,    /* session_id: RST now */
    WORKER_CMD_ABORT_IP, /* every session from ip (its guard group): RST now (a ban) */
    WORKER_CMD_SNAPSHOT, /* ptr: worker_snapshot_t to fill with this worker's sessions */
    WORKER_CMD_RELOAD,   /* ptr: worker_reload_t: take the new config */
    WORKER_CMD_RESUME,   /* session_id, ptr: worker_resume_t (the worker takes it and frees it) */
} worker_cmd_kind_t;

/* A RESUME handed from the worker whose listener took the connection to the session's owner. */
typedef struct worker_resume {
    uint8_t token[PROTO_RESUME_TOKEN_BYTES];
    uint64_t received;
    sock_t fd;          /* a descriptor of its own (the carrier's was released) */
    sock_ip_t peer;
    bool admitted;      /* the guard counts the connection against peer: the taker releases it */
} worker_resume_t;

typedef struct worker_cmd {
    uint8_t kind;       /* worker_cmd_kind_t */
    uint8_t reason;     /* reason_t */
    uint32_t session_id;
    sock_ip_t ip;
    void *ptr;
} worker_cmd_t;

/* A listing of sessions, filled by every worker (one part each) for the admin endpoint. */
typedef struct worker_snapshot {
    _Atomic uint32_t pending;     /* workers yet to fill their part */
    session_record_list_t *parts; /* one per worker */
} worker_snapshot_t;

/* A config change for every worker; the old config is freed once all have taken the new one. */
typedef struct worker_reload {
    const cfg_t *cfg;
    _Atomic uint32_t pending;
} worker_reload_t;

typedef struct worker {
    uint32_t index;
    const cfg_t *cfg;
    const io_backend_ops_t *backend;
    io_loop_t *loop;          /* opened on the worker's own thread (io_uring SINGLE_ISSUER) */
    _Atomic(io_loop_t *) wake_loop; /* the same loop, published for other threads' io_wake */
    sock_t listen_fd;
    io_handle_t listener;
    session_table_t sessions;
    session_env_t env;        /* what the session layer runs on: all of the above it needs */
    dispatch_env_t dispatch;  /* what the op handlers run on */
    pool_t send_chunks;
    pool_t frame_bufs;        /* partial frames cut across reads */
    timer_wheel_t timers;     /* every session's deadline */
    loop_clock_t clock;       /* one clock read per loop turn; a test clock in the session fuzzer */
    mpsc_t *commands;         /* worker_cmd_t from other threads, drained every loop turn */
    game_link_t *game;        /* this worker's lane to the logic thread (NULL: no game) */
    void *snapshot;           /* the worker_snapshot_t being filled (run_commands only) */
    guard_t *guard;           /* shared by all workers: per-address limits and bans */
    auth_t *auth;             /* shared by all workers: ticket keys, nonces, account directory */
    cluster_t *cluster;       /* the other instances (NULL: none) */
    struct worker *peers;     /* every worker (this one included), to reach a session's owner */
    session_split_t split;    /* which worker owns which id */
    token_bucket_rate_t packet_rate, byte_rate;
    bool stopping;            /* the stop request was acted on: no listener, sessions told */
    uint32_t *dirty;          /* slot indexes with output to flush this turn */
    uint32_t dirty_count;
    worker_stats_t stats;
    os_thread_t *thread;
    atomic_bool stop_requested;
    int exit_status;          /* 0, or -errno if the loop failed */
    void (*on_fatal)(void *ctx); /* called on the worker's thread when its loop fails */
    void *on_fatal_ctx;
} worker_t;

/* Prepares memory and adopts `listen_fd`; slots [slot_base, slot_base+slots). The loop itself is
 * opened by worker_run on the worker's thread. */
int worker_init(worker_t *w, const cfg_t *cfg, uint32_t index, const io_backend_ops_t *backend,
                guard_t *guard, sock_t listen_fd, uint32_t slot_base, uint32_t slots);
/* Before the thread runs: the other workers (for sessions they own) and the login checker. */
void worker_attach_peers(worker_t *w, worker_t *peers, session_split_t split, auth_t *auth, cluster_t *cluster);
/* Before the thread runs: the worker's lane to the logic thread. */
void worker_attach_game(worker_t *w, game_link_t *game);
/* On the worker's own thread: opens its loop and starts accepting. */
int worker_open(worker_t *w);
/* One loop turn: wait at most max_wait_ms (-1: until the next deadline or event), handle what
 * completed, fire deadlines, flush. Returns 1 once stopped with every session closed, 0 to go on,
 * -errno if the loop failed. */
int worker_turn(worker_t *w, int max_wait_ms);
/* worker_open, then worker_turn until stopped and every session is closed. Thread entry
 * (arg = worker_t *). A loop that cannot open or fails sets exit_status. */
void worker_run(void *arg);
/* Async-signal-safe: an atomic store and an eventfd write. */
void worker_request_stop(worker_t *w);
void worker_destroy(worker_t *w);
/* Any thread (async-signal-safe): ends the worker's wait, once its loop exists. */
void worker_wake(void *worker);

/* Any thread: queues a command for the worker that owns cmd->session_id and wakes it.
 * -EAGAIN if its queue is full (the caller reports it; nothing blocks). */
int worker_post(worker_t *w, const worker_cmd_t *cmd);

/* The loop turn's time: one clock read per turn, however many events it handles. */
static inline uint64_t worker_now_ms(worker_t *w) { return loop_clock_ms(&w->clock); }

#endif

/* config: the whole server configuration as one typed struct.
 * Owns loading JSON (cJSON) over the built-in defaults (config/server.json, embedded at build
 * time), strict validation with one-line errors that name file, line and key path, and printing
 * the effective config back as JSON. It does no I/O beyond reading the one file it is given and
 * never logs: callers print the error string. */
#ifndef GSKEL_CONFIG_H
#define GSKEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"

#define CFG_HOST_MAX 64
#define CFG_ERR_MAX 512
#define CFG_FILE_MAX (1u << 20) /* bytes; a bigger config file is an error */

typedef enum { CFG_BACKEND_AUTO, CFG_BACKEND_IO_URING, CFG_BACKEND_EPOLL, CFG_BACKEND_IOCP } cfg_backend_t;
typedef enum { CFG_LOG_DEBUG, CFG_LOG_INFO, CFG_LOG_WARN, CFG_LOG_ERROR } cfg_log_level_t;
typedef enum { CFG_LOG_LOGFMT, CFG_LOG_JSON } cfg_log_format_t;
/* Which PROXY protocol headers the game listener takes from listen.trusted_proxies. */
typedef enum { CFG_PROXY_OFF, CFG_PROXY_V1, CFG_PROXY_V2, CFG_PROXY_ANY } cfg_proxy_t;
/* What LOGIN must prove: nothing (a name, local development) or a signed ticket. */
typedef enum { CFG_AUTH_NONE, CFG_AUTH_TICKET } cfg_auth_t;
#define CFG_PATH_BYTES 256

typedef struct cfg {
    struct {
        char host[CFG_HOST_MAX];
        uint32_t port;    /* 0..65535; 0 = any free port (tests) */
        uint32_t backlog; /* 1..65535 */
        cfg_proxy_t proxy_protocol;       /* off: no header is expected from anyone */
        cidr_list_t trusted_proxies;      /* who may (and then must) send a PROXY header */
        uint32_t proxy_header_timeout_ms; /* the header must be complete within; 1..600000 */
        uint32_t drain_ms;                /* after SIGTERM: /health says 503 this long, then the
                                             listener closes; 0..600000 */
    } listen;
    cfg_backend_t backend;
    uint32_t workers; /* 0 = one per core; 0..256 */
    struct {
        uint32_t sndbuf; /* bytes; 0 = kernel autotuning */
        uint32_t rcvbuf; /* bytes; 0 = kernel autotuning */
        bool nodelay;
    } socket;
    struct {
        uint32_t recv_buffer_bytes; /* one receive buffer; 512..1 MiB */
        uint32_t recv_buffers;      /* io_uring provided buffers per worker; power of two, 1..32768 */
        uint32_t max_events;        /* completions handled per loop turn; 1..65536 */
        uint32_t command_queue;     /* commands from other threads a worker can hold; power of two */
    } io;
    struct {
        uint32_t max_sessions;           /* 1..16,777,215 */
        uint32_t max_frame_bytes;        /* 4..65535 (u16 length) */
        uint32_t send_chunk_bytes;       /* 256..1 MiB, >= max_frame_bytes */
        uint32_t send_queue_limit_bytes; /* >= send_chunk_bytes */
        uint32_t login_timeout_ms;       /* 0 = off */
        uint32_t idle_timeout_ms;        /* 0 = off */
        uint32_t close_grace_ms;         /* 1..600000 */
        uint32_t resume_window_ms;       /* a dropped session waits this long for RESUME; 0 = off */
        uint32_t resume_buffer_bytes;    /* frames kept for a replay, per resumable session */
    } session;
    struct {
        cfg_auth_t mode;
        char key_file[CFG_PATH_BYTES];   /* public keys, one per line (docs/security.md) */
        uint32_t replay_cache_entries;   /* nonces of tickets still valid, remembered */
    } auth;
    struct {
        uint32_t max_packets_per_sec; /* 0 = off */
        uint32_t max_bytes_per_sec;   /* 0 = off */
        uint32_t max_conns_per_ip;    /* 0 = off */
        uint32_t packets_burst;       /* 0 = max_packets_per_sec */
        uint32_t bytes_burst;         /* 0 = max_bytes_per_sec */
        uint32_t partial_frame_timeout_ms; /* 0 = off */
        uint32_t autoban_kicks;       /* 0 = off */
        uint32_t autoban_window_s;
        uint32_t ban_seconds;
        uint32_t ipv6_prefix_bits;    /* 1..128 */
        uint32_t max_tracked_ips;
    } guard;
    struct {
        char host[CFG_HOST_MAX];
        uint32_t port; /* 0 = admin endpoint off */
        char token[CFG_HOST_MAX]; /* bearer token; required when host is not loopback */
    } admin;
    struct {
        cfg_log_level_t level;
        cfg_log_format_t format;
    } log;
    struct {
        uint32_t tick_hz; /* 1..1000 */
        uint32_t inbound_queue_bytes;  /* per worker, to the logic thread; power of two */
        uint32_t outbound_queue_bytes; /* per worker, from the logic thread; power of two */
        bool zone_enabled;         /* the sample game (server/game/zone.c) runs */
        uint32_t world_size;       /* zone: side of the square world, units; 1..2^30 */
        uint32_t aoi_radius;       /* zone: how far a player sees, units; 1..2^30 */
        uint32_t max_speed;        /* zone: units per second; 1..2^30 */
        uint32_t move_lag_ms;      /* zone: unused movement time a player keeps, ms */
        uint32_t counter_broadcast_ticks; /* counter: ticks between broadcasts */
    } game;
    struct {
        struct {
            char address[CFG_HOST_MAX];        /* "host:port"; "" = no cluster (nothing connects) */
            char password_file[CFG_PATH_BYTES]; /* the AUTH password, first line; "" = none */
            char instance_id[CFG_HOST_MAX];    /* this instance's name among the others */
            char key_prefix[CFG_HOST_MAX];     /* every key and channel starts with it */
            uint32_t account_ttl_ms;           /* an account's entry lives this long unrefreshed */
            uint32_t queue_entries;            /* work waiting for Redis; power of two */
        } redis;
    } cluster;
} cfg_t;

/* The built-in defaults (config/server.json as embedded). Returns 0, or -EINVAL with err set
 * if the embedded file itself is broken (a build defect). */
int cfg_load_defaults(cfg_t *out, char err[CFG_ERR_MAX]);

/* Defaults, then the JSON text `text` (named `name` in errors) laid over them. Every key of the
 * text must be known; objects may be partial. On error returns -EINVAL and err holds one line:
 *   "NAME:LINE:COL: syntax error" or "NAME:LINE: socket.sndbuf: must be an integer in 0..1073741824"
 * (the cross-key rules of cfg_validate: "NAME: RULE", no line). */
int cfg_load_text(cfg_t *out, const char *name, const char *text, size_t len, char err[CFG_ERR_MAX]);

/* cfg_load_text on the contents of the file at path; unreadable files are errors too
 * ("PATH: cannot read: REASON", returning -errno; over CFG_FILE_MAX: "PATH: file too large"). */
int cfg_load_file(cfg_t *out, const char *path, char err[CFG_ERR_MAX]);

/* Cross-key checks (send_chunk_bytes >= max_frame_bytes, ...) after CLI overrides are applied. */
int cfg_validate(const cfg_t *c, char err[CFG_ERR_MAX]);

/* Calls fn for every key whose value differs between a and b; `live` says whether a running
 * server can take the new value (SIGHUP) or needs a restart. */
void cfg_diff(const cfg_t *a, const cfg_t *b, void (*fn)(void *ctx, const char *path, bool live), void *ctx);
/* Copies every live key's value from src into dst (what a reload applies). */
void cfg_apply_live(cfg_t *dst, const cfg_t *src);
/* Whether host is a loopback address ("127.x.x.x", "::1", "localhost"). */
bool cfg_host_is_loopback(const char *host);
/* Splits "host:port" (port 1..65535, host non-empty and under CFG_HOST_MAX): 0, or -1. */
int cfg_split_host_port(const char *s, char host[CFG_HOST_MAX], int *port);

/* The effective config as pretty JSON, every key present, no trailing newline; cfg_load_text
 * reads it back to an identical struct. NULL if out of memory. Caller frees with free(). */
char *cfg_to_json(const cfg_t *c);

/* Names used in JSON, logs and metrics. */
const char *cfg_backend_name(cfg_backend_t b);
int cfg_backend_parse(const char *s, cfg_backend_t *out);

#endif

/* config_keys: the key table and the questions asked of it (see config_keys.h). */
#include "config_keys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(cfg_backend_t) == sizeof(int) && sizeof(cfg_log_level_t) == sizeof(int) &&
                   sizeof(cfg_log_format_t) == sizeof(int) && sizeof(cfg_proxy_t) == sizeof(int) &&
                   sizeof(cfg_auth_t) == sizeof(int),
               "enum fields are stored as int");

static const char *const cfg_backend_names[] = {"auto", "io_uring", "epoll", "iocp", NULL};
static const char *const cfg_level_names[] = {"debug", "info", "warn", "error", NULL};
static const char *const cfg_format_names[] = {"logfmt", "json", NULL};
static const char *const cfg_proxy_names[] = {"off", "v1", "v2", "any", NULL};
static const char *const cfg_auth_names[] = {"none", "ticket", NULL};

#define CFG_FIELD(f) offsetof(cfg_t, f), sizeof(((cfg_t *)0)->f)
#define CFG_UINT(p, f, lo, hi) {p, CFG_T_UINT, lo, hi, CFG_FIELD(f), NULL, false}
#define CFG_BOOL(p, f) {p, CFG_T_BOOL, 0, 1, CFG_FIELD(f), NULL, false}
#define CFG_STR(p, f) {p, CFG_T_STR, 1, sizeof(((cfg_t *)0)->f) - 1, CFG_FIELD(f), NULL, false}
#define CFG_STR_EMPTY_OK(p, f) {p, CFG_T_STR, 0, sizeof(((cfg_t *)0)->f) - 1, CFG_FIELD(f), NULL, false}
#define CFG_CIDRS(p, f) {p, CFG_T_CIDRS, 0, CIDR_LIST_MAX, CFG_FIELD(f), NULL, false}
#define CFG_ENUM(p, f, names) \
    {p, CFG_T_ENUM, 0, sizeof(names) / sizeof(names[0]) - 2, CFG_FIELD(f), names, false}
/* Keys a SIGHUP reload changes in the running server: limits, timeouts, log level, socket
 * buffers for new connections. The rest (sizes of preallocated things, addresses, threads)
 * need a restart. */
#define CFG_UINT_LIVE(p, f, lo, hi) {p, CFG_T_UINT, lo, hi, CFG_FIELD(f), NULL, true}
#define CFG_BOOL_LIVE(p, f) {p, CFG_T_BOOL, 0, 1, CFG_FIELD(f), NULL, true}
#define CFG_ENUM_LIVE(p, f, names) \
    {p, CFG_T_ENUM, 0, sizeof(names) / sizeof(names[0]) - 2, CFG_FIELD(f), names, true}

/* In config/server.json order, which is also the order cfg_to_json prints. */
const cfg_key_t cfg_keys[] = {
    CFG_STR("listen.host", listen.host),
    CFG_UINT("listen.port", listen.port, 0, 65535),
    CFG_UINT("listen.backlog", listen.backlog, 1, 65535),
    CFG_ENUM("listen.proxy_protocol", listen.proxy_protocol, cfg_proxy_names),
    CFG_CIDRS("listen.trusted_proxies", listen.trusted_proxies),
    CFG_UINT_LIVE("listen.proxy_header_timeout_ms", listen.proxy_header_timeout_ms, 1, 600000),
    CFG_UINT_LIVE("listen.drain_ms", listen.drain_ms, 0, 600000),
    CFG_ENUM("backend", backend, cfg_backend_names),
    CFG_UINT("workers", workers, 0, 256),
    CFG_UINT_LIVE("socket.sndbuf", socket.sndbuf, 0, 1u << 30),
    CFG_UINT_LIVE("socket.rcvbuf", socket.rcvbuf, 0, 1u << 30),
    CFG_BOOL_LIVE("socket.nodelay", socket.nodelay),
    CFG_UINT("io.recv_buffer_bytes", io.recv_buffer_bytes, 512, 1u << 20),
    CFG_UINT("io.recv_buffers", io.recv_buffers, 1, 32768),
    CFG_UINT("io.max_events", io.max_events, 1, 65536),
    CFG_UINT("io.command_queue", io.command_queue, 2, 1u << 20),
    CFG_UINT("session.max_sessions", session.max_sessions, 1, 16777215),
    CFG_UINT("session.max_frame_bytes", session.max_frame_bytes, 4, 65535),
    CFG_UINT("session.send_chunk_bytes", session.send_chunk_bytes, 256, 1u << 20),
    CFG_UINT_LIVE("session.send_queue_limit_bytes", session.send_queue_limit_bytes, 256, 1u << 30),
    CFG_UINT_LIVE("session.login_timeout_ms", session.login_timeout_ms, 0, 86400000),
    CFG_UINT_LIVE("session.idle_timeout_ms", session.idle_timeout_ms, 0, 86400000),
    CFG_UINT_LIVE("session.close_grace_ms", session.close_grace_ms, 1, 600000),
    CFG_UINT_LIVE("session.resume_window_ms", session.resume_window_ms, 0, 3600000),
    CFG_UINT_LIVE("session.resume_buffer_bytes", session.resume_buffer_bytes, 1024, 1u << 30),
    CFG_ENUM("auth.mode", auth.mode, cfg_auth_names),
    CFG_STR("auth.key_file", auth.key_file),
    CFG_UINT("auth.replay_cache_entries", auth.replay_cache_entries, 16, 1u << 26),
    CFG_UINT_LIVE("guard.max_packets_per_sec", guard.max_packets_per_sec, 0, 10000000),
    CFG_UINT_LIVE("guard.max_bytes_per_sec", guard.max_bytes_per_sec, 0, 1u << 30),
    CFG_UINT_LIVE("guard.max_conns_per_ip", guard.max_conns_per_ip, 0, 1000000),
    CFG_UINT_LIVE("guard.packets_burst", guard.packets_burst, 0, 10000000),
    CFG_UINT_LIVE("guard.bytes_burst", guard.bytes_burst, 0, 1u << 30),
    CFG_UINT_LIVE("guard.partial_frame_timeout_ms", guard.partial_frame_timeout_ms, 0, 600000),
    CFG_UINT_LIVE("guard.autoban_kicks", guard.autoban_kicks, 0, 1000000),
    CFG_UINT_LIVE("guard.autoban_window_s", guard.autoban_window_s, 1, 86400),
    CFG_UINT_LIVE("guard.ban_seconds", guard.ban_seconds, 1, 31536000),
    CFG_UINT("guard.ipv6_prefix_bits", guard.ipv6_prefix_bits, 1, 128),
    CFG_UINT("guard.max_tracked_ips", guard.max_tracked_ips, 1, 16777216),
    CFG_STR("admin.host", admin.host),
    CFG_UINT("admin.port", admin.port, 0, 65535),
    CFG_STR_EMPTY_OK("admin.token", admin.token),
    CFG_ENUM_LIVE("log.level", log.level, cfg_level_names),
    CFG_ENUM("log.format", log.format, cfg_format_names),
    CFG_UINT("game.tick_hz", game.tick_hz, 1, 1000),
    CFG_UINT("game.inbound_queue_bytes", game.inbound_queue_bytes, 4096, 1u << 30),
    CFG_UINT("game.outbound_queue_bytes", game.outbound_queue_bytes, 4096, 1u << 30),
    CFG_BOOL("game.zone_enabled", game.zone_enabled),
    CFG_UINT("game.world_size", game.world_size, 1, 1u << 30),
    CFG_UINT("game.aoi_radius", game.aoi_radius, 1, 1u << 30),
    CFG_UINT("game.max_speed", game.max_speed, 1, 1u << 30),
    CFG_UINT("game.move_lag_ms", game.move_lag_ms, 0, 60000),
    CFG_UINT("game.counter_broadcast_ticks", game.counter_broadcast_ticks, 1, 1000000),
    CFG_STR_EMPTY_OK("cluster.redis.address", cluster.redis.address),
    CFG_STR_EMPTY_OK("cluster.redis.password_file", cluster.redis.password_file),
    CFG_STR_EMPTY_OK("cluster.redis.instance_id", cluster.redis.instance_id),
    CFG_STR("cluster.redis.key_prefix", cluster.redis.key_prefix),
    CFG_UINT("cluster.redis.account_ttl_ms", cluster.redis.account_ttl_ms, 1000, 86400000),
    CFG_UINT("cluster.redis.queue_entries", cluster.redis.queue_entries, 16, 1u << 20),
};
const size_t cfg_nkeys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);
_Static_assert(sizeof(cfg_keys) / sizeof(cfg_keys[0]) <= CFG_NKEYS_MAX, "raise CFG_NKEYS_MAX");

const cfg_rule_t cfg_rules[] = {
    {"session.send_chunk_bytes", "session.max_frame_bytes"},
    {"session.send_queue_limit_bytes", "session.send_chunk_bytes"},
};
const size_t cfg_nrules = sizeof(cfg_rules) / sizeof(cfg_rules[0]);

const cfg_key_t *cfg_key_find(const char *path)
{
    for (size_t i = 0; i < cfg_nkeys; i++)
        if (strcmp(cfg_keys[i].path, path) == 0)
            return &cfg_keys[i];
    return NULL;
}

bool cfg_key_is_section(const char *path)
{
    size_t n = strlen(path);

    for (size_t i = 0; i < cfg_nkeys; i++)
        if (strncmp(cfg_keys[i].path, path, n) == 0 && cfg_keys[i].path[n] == '.')
            return true;
    return false;
}

/* Classic edit distance; callers bound both lengths by CFG_PATH_MAX. */
static size_t cfg_distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t row[CFG_PATH_MAX + 1];

    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

const char *cfg_key_suggest(const char *path, size_t prefix_len)
{
    const char *best = NULL;
    size_t n = strlen(path), best_d = 3; /* more than two edits is not a typo */

    if (n >= CFG_PATH_MAX || prefix_len > n)
        return NULL;
    for (size_t i = 0; i < cfg_nkeys; i++) {
        const char *p = cfg_keys[i].path;
        size_t pn, d;

        if (strncmp(p, path, prefix_len) != 0)
            continue;
        pn = strcspn(p + prefix_len, ".") + prefix_len;
        if (pn >= CFG_PATH_MAX)
            continue;
        d = cfg_distance(path + prefix_len, n - prefix_len, p + prefix_len, pn - prefix_len);
        /* and at most half the key changed, or "" would suggest "io" */
        if (d < best_d && 2 * d <= n - prefix_len) {
            best_d = d;
            best = p;
        }
    }
    return best;
}

void cfg_key_expect(const cfg_key_t *k, char *buf, size_t cap)
{
    size_t n;

    switch (k->type) {
    case CFG_T_UINT:
        snprintf(buf, cap, "must be an integer in %u..%u", (unsigned)k->min, (unsigned)k->max);
        break;
    case CFG_T_BOOL:
        snprintf(buf, cap, "must be true or false");
        break;
    case CFG_T_STR:
        snprintf(buf, cap, "must be a non-empty string of at most %u bytes", (unsigned)k->max);
        break;
    case CFG_T_CIDRS:
        snprintf(buf, cap, "must be an array of at most %u address ranges (\"10.0.0.0/8\", \"::1\")",
                 (unsigned)k->max);
        break;
    case CFG_T_ENUM:
        n = (size_t)snprintf(buf, cap, "must be one of");
        for (size_t i = 0; k->names[i] != NULL && n < cap; i++)
            n += (size_t)snprintf(buf + n, cap - n, "%s \"%s\"", i ? "," : "", k->names[i]);
        break;
    }
}

uint32_t cfg_key_uint(const cfg_t *c, const cfg_key_t *k)
{
    uint32_t u;

    memcpy(&u, (const char *)c + k->off, sizeof(u));
    return u;
}

int cfg_key_enum(const cfg_t *c, const cfg_key_t *k)
{
    int e;

    memcpy(&e, (const char *)c + k->off, sizeof(e));
    return e;
}

const char *cfg_backend_name(cfg_backend_t b)
{
    if ((unsigned)b >= sizeof(cfg_backend_names) / sizeof(cfg_backend_names[0]) - 1)
        return "unknown";
    return cfg_backend_names[b];
}

int cfg_backend_parse(const char *s, cfg_backend_t *out)
{
    for (int i = 0; cfg_backend_names[i] != NULL; i++) {
        if (strcmp(cfg_backend_names[i], s) == 0) {
            *out = (cfg_backend_t)i;
            return 0;
        }
    }
    return -EINVAL;
}

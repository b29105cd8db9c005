/* Instances as one through Redis: see cluster.h. All Redis I/O happens on the cluster thread,
 * with hiredis' blocking API on two connections: one for commands (each bounded by a timeout),
 * one subscribed to the cluster's channels, read with a short receive timeout so the thread also
 * drains its queue. Keys and channels (P = cluster.redis.key_prefix):
 *   P ban:<address>    "<instance>", expiring with the ban      P bans      "<instance> <address> <seconds>"
 *   P acct:<account>   "<instance> <claimed ms>", PX account_ttl P accounts  "<instance> <account> <claimed ms>"
 *   P msg:<channel>    (channel) {u8 n, publishing instance, a game module's bytes}
 * The later claim of an account wins (claimed ms, then the instance name), wherever it is seen. */
#include "cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "alloc.h"
#include "log.h"
#include "mpsc.h"
#include "os.h"
#include "u64_map.h"

/* Resolutions and bounds of the thread's waits, not limits (those are config keys). */
#define CLUSTER_IO_TIMEOUT_MS 1000u   /* a command or a connect that takes longer: Redis is away */
#define CLUSTER_READ_SLICE_MS 10u     /* the subscriber read, between drains of the queue */
#define CLUSTER_RETRY_FIRST_MS 200u   /* reconnect backoff, doubling ... */
#define CLUSTER_RETRY_MAX_MS 2000u    /* ... up to this */
#define CLUSTER_DRAIN_BATCH 256u      /* queued ops handled per turn, so reads are not starved */
#define CLUSTER_STOP_DRAIN_MS 2000u   /* what is queued at the stop is sent for at most this long */
#define CLUSTER_PIPELINE 256u        /* claim scripts sent before their replies are read */
#define CLUSTER_STABLE_MS 10000u      /* up this long, a drop starts the backoff again from its first */
#define CLUSTER_KEY_MAX 160u
#define CLUSTER_PASSWORD_MAX 256u

typedef enum { OP_BAN, OP_CLAIM, OP_RELEASE } cluster_op_kind_t;

/* Bans and the account directory: small, on their own queue, sized so that the sessions' claims
 * and releases fit even while the thread waits on Redis (a game's messages cannot crowd them out). */
typedef struct cluster_op {
    uint8_t kind;
    uint32_t value;      /* BAN: seconds (0: lifted); CLAIM/RELEASE: session */
    uint64_t account;
    uint64_t claimed_ms;
    uint64_t order;      /* CLAIM: auth's order of the claims made here */
    sock_ip_t ip;
} cluster_op_t;

/* A game message, either way. */
typedef struct cluster_msg {
    uint8_t channel_len;
    uint16_t len;
    char channel[CLUSTER_CHANNEL_MAX];
    uint8_t data[CLUSTER_MESSAGE_MAX];
} cluster_msg_t;

/* A ban this instance made, kept until it expires: sent again when Redis comes back (it may have
 * been made while Redis was away, or Redis may have restarted without its keys). */
#define CLUSTER_OWN_BANS_MAX 4096u
typedef struct own_ban {
    sock_ip_t ip;
    uint64_t until_ms;
} own_ban_t;

/* An account this instance holds, as the cluster knows it. */
typedef struct held_account {
    uint64_t account, claimed_ms, order;
    uint32_t session;
} held_account_t;

struct cluster {
    cfg_t cfg;
    cluster_hooks_t hooks;
    void *ctx;
    char host[CFG_HOST_MAX];
    int port;
    char password[CLUSTER_PASSWORD_MAX];
    mpsc_t *ops;      /* any thread -> the cluster thread: bans, claims, releases */
    mpsc_t *outbound; /* the logic thread -> the cluster thread: game messages */
    mpsc_t *inbound;  /* the cluster thread -> the logic thread: game messages */
    redisContext *cmd, *sub;
    bool up;
    bool ever_up;
    uint64_t retry_at_ms, retry_ms, refresh_at_ms, up_at_ms;
    held_account_t *held; /* dense; index by account in held_at */
    uint32_t held_count, held_cap;
    u64_map_t held_at;
    own_ban_t *own_bans;
    uint32_t own_ban_count;
    cluster_stats_t stats;
    atomic_bool stop;
    os_thread_t *thread;
};

static uint64_t now_ms(void) { return os_now_us() / 1000u; }

static void resend_own_bans(cluster_t *c);

static void key_of(const cluster_t *c, char *out, const char *kind, const char *name) {
    snprintf(out, CLUSTER_KEY_MAX, "%s%s%s", c->cfg.cluster.redis.key_prefix, kind, name);
}

/* ---- connections ---- */

/* `why` often lies in a context this frees: it is quoted first. */
static void drop_connections(cluster_t *c, const char *why) {
    char q[200];
    log_quote(q, sizeof q, why);
    if (c->cmd) redisFree(c->cmd);
    if (c->sub) redisFree(c->sub);
    c->cmd = c->sub = NULL;
    if (c->up) {
        stat_sub(&c->stats.up, 1);
        log_warn("cluster_down", "redis=%s:%d error=%s", c->host, c->port, q);
        /* A Redis that drops us right after each connect (a reconcile it cannot take) must not
         * be reconnected to, and reconciled with, five times a second. */
        if (now_ms() - c->up_at_ms >= CLUSTER_STABLE_MS) c->retry_ms = 0;
    }
    c->up = false;
    c->retry_ms = c->retry_ms ? (c->retry_ms * 2 > CLUSTER_RETRY_MAX_MS ? CLUSTER_RETRY_MAX_MS : c->retry_ms * 2)
                              : CLUSTER_RETRY_FIRST_MS;
    c->retry_at_ms = now_ms() + c->retry_ms;
}

static redisContext *connect_one(cluster_t *c, const char **why) {
    struct timeval tv = { CLUSTER_IO_TIMEOUT_MS / 1000u, (CLUSTER_IO_TIMEOUT_MS % 1000u) * 1000u };
    redisContext *r = redisConnectWithTimeout(c->host, c->port, tv);
    if (!r || r->err) {
        *why = r ? r->errstr : "out of memory";
        return r;
    }
    redisSetTimeout(r, tv);
    redisEnableKeepAlive(r);
    if (c->password[0]) {
        redisReply *a = redisCommand(r, "AUTH %s", c->password);
        if (!a || a->type == REDIS_REPLY_ERROR) *why = a ? "AUTH refused" : r->errstr;
        if (a) freeReplyObject(a);
    }
    return r;
}

/* A command on the command connection; NULL (and the connections dropped) if Redis is away. */
/* Error replies of a Redis that cannot serve us now (loading its data, a replica after a
 * failover, a password changed): as if it were away, so that the reconcile runs again later. */
static bool reply_is_unavailable(const redisReply *r) {
    static const char *const codes[] = { "LOADING", "READONLY", "NOAUTH", "MASTERDOWN", "BUSY" };
    if (r->type != REDIS_REPLY_ERROR || !r->str) return false;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (!strncmp(r->str, codes[i], strlen(codes[i]))) return true;
    return false;
}

static redisReply *command(cluster_t *c, int argc, const char **argv, const size_t *lens) {
    if (!c->up) return NULL;
    redisReply *r = redisCommandArgv(c->cmd, argc, argv, lens);
    if (!r) {
        drop_connections(c, c->cmd->errstr);
        return NULL;
    }
    if (reply_is_unavailable(r)) {
        drop_connections(c, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static bool command_ok(cluster_t *c, int argc, const char **argv, const size_t *lens) {
    redisReply *r = command(c, argc, argv, lens);
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    return ok;
}

/* ---- bans ---- */

static void ban_received(cluster_t *c, const char *address, uint32_t seconds) {
    sock_ip_t ip;
    if (sock_ip_parse(address, &ip) < 0) return; /* 0 seconds: the ban was lifted */
    stat_add(&c->stats.bans_in, 1);
    c->hooks.banned(c->ctx, &ip, seconds);
}

/* Every live ban, on (re)connect: an instance that starts later refuses them too. */
static void load_bans(cluster_t *c) {
    char pattern[CLUSTER_KEY_MAX];
    key_of(c, pattern, "ban:", "*");
    size_t skip = strlen(c->cfg.cluster.redis.key_prefix) + strlen("ban:");
    char cursor[32] = "0";
    do {
        const char *scan[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", "1000" };
        redisReply *r = command(c, 6, scan, NULL);
        if (!r) return;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            drop_connections(c, "unexpected SCAN reply");
            return;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *key = r->element[1]->element[i]->str;
            const char *pttl[] = { "PTTL", key };
            redisReply *t = command(c, 2, pttl, NULL);
            if (!t) break;
            if (t->type == REDIS_REPLY_INTEGER && t->integer > 0 && strlen(key) > skip)
                ban_received(c, key + skip, (uint32_t)((t->integer + 999) / 1000));
            freeReplyObject(t);
        }
        freeReplyObject(r);
        if (!c->up) return;
    } while (strcmp(cursor, "0") != 0);
}

static bool same_address(const sock_ip_t *a, const sock_ip_t *b) {
    return a->family == b->family && !memcmp(a->addr, b->addr, a->family == 4 ? 4u : 16u);
}

/* Remembers a ban made here (dropping the expired ones when full). */
static void remember_ban(cluster_t *c, const sock_ip_t *ip, uint32_t seconds) {
    uint64_t now = now_ms();
    for (uint32_t i = 0; i < c->own_ban_count; i++) /* a ban again, or lifted: the old one goes */
        if (same_address(&c->own_bans[i].ip, ip)) c->own_bans[i--] = c->own_bans[--c->own_ban_count];
    if (!seconds) return;
    if (c->own_ban_count == CLUSTER_OWN_BANS_MAX) {
        uint32_t kept = 0;
        for (uint32_t i = 0; i < c->own_ban_count; i++)
            if (c->own_bans[i].until_ms > now) c->own_bans[kept++] = c->own_bans[i];
        c->own_ban_count = kept;
        if (kept == CLUSTER_OWN_BANS_MAX) return; /* its key still expires in Redis as set */
    }
    c->own_bans[c->own_ban_count++] = (own_ban_t){ *ip, now + (uint64_t)seconds * 1000u };
}

static void send_ban(cluster_t *c, const cluster_op_t *op) {
    char address[SOCK_IP_STR_MAX], key[CLUSTER_KEY_MAX], ms[24], msg[SOCK_IP_STR_MAX + CFG_HOST_MAX + 24],
        channel[CLUSTER_KEY_MAX];
    sock_ip_host_str(&op->ip, address, sizeof address);
    key_of(c, key, "ban:", address);
    key_of(c, channel, "bans", "");
    snprintf(ms, sizeof ms, "%" PRIu64, (uint64_t)op->value * 1000u);
    snprintf(msg, sizeof msg, "%s %s %u", c->cfg.cluster.redis.instance_id, address, op->value);
    const char *set[] = { "SET", key, c->cfg.cluster.redis.instance_id, "PX", ms };
    const char *del[] = { "DEL", key };
    const char *pub[] = { "PUBLISH", channel, msg };
    bool stored = op->value ? command_ok(c, 5, set, NULL) : command_ok(c, 2, del, NULL);
    if (!stored || !command_ok(c, 3, pub, NULL)) stat_add(&c->stats.send_failed, 1);
}

/* ---- the account directory ---- */

static held_account_t *held_find(cluster_t *c, uint64_t account) {
    uint32_t at;
    return u64_map_get(&c->held_at, account, &at) ? &c->held[at] : NULL;
}

static void held_remove(cluster_t *c, uint64_t account) {
    uint32_t at;
    if (!u64_map_get(&c->held_at, account, &at)) return;
    u64_map_remove_if(&c->held_at, account, at);
    held_account_t last = c->held[--c->held_count];
    if (at != c->held_count) {
        c->held[at] = last;
        u64_map_put(&c->held_at, last.account, at, NULL);
    }
}

/* Whether a claim (ms, instance) is later than ours: the later one wins everywhere. */
static bool claim_is_later(const cluster_t *c, const held_account_t *ours, uint64_t ms, const char *instance) {
    if (ms != ours->claimed_ms) return ms > ours->claimed_ms;
    return strcmp(instance, c->cfg.cluster.redis.instance_id) > 0;
}

static void evict(cluster_t *c, held_account_t *h) {
    stat_add(&c->stats.evictions, 1);
    uint64_t account = h->account;
    uint32_t session = h->session;
    held_remove(c, account);
    c->hooks.account_elsewhere(c->ctx, account, session);
}

static void claim_value(const cluster_t *c, const held_account_t *h, char *out, size_t cap) {
    snprintf(out, cap, "%s %" PRIu64, c->cfg.cluster.redis.instance_id, h->claimed_ms);
}

/* Tells the other instances: one that holds the account with an older claim evicts its session. */
static bool publish_claim(cluster_t *c, const held_account_t *h) {
    char channel[CLUSTER_KEY_MAX], msg[CFG_HOST_MAX + 48];
    key_of(c, channel, "accounts", "");
    snprintf(msg, sizeof msg, "%s %" PRIu64 " %" PRIu64, c->cfg.cluster.redis.instance_id, h->account, h->claimed_ms);
    const char *pub[] = { "PUBLISH", channel, msg };
    return command_ok(c, 3, pub, NULL);
}

/* Sets the account's key to our claim unless a later claim holds it, in one step: returns the
 * later claim (then the local session goes), 1 if it replaced another instance's older claim
 * (whose holder is then told), 0 if the key was ours or absent. Used for the claim at LOGIN, the
 * refresh while the session lives, and the check after Redis comes back. */
static const char claim_script[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v and v ~= ARGV[1] then "
    "  local inst, ms = string.match(v, '^(%S+) (%d+)$') "
    "  if inst and inst ~= ARGV[4] then "
    "    local theirs, mine = tonumber(ms), tonumber(ARGV[3]) "
    "    if theirs > mine or (theirs == mine and inst > ARGV[4]) then return v end "
    "  end "
    "end "
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "if v and v ~= ARGV[1] then return 1 end return 0";

/* The claim script's arguments for h, in bufs that live as long as argv is used. */
typedef struct claim_args {
    char key[CLUSTER_KEY_MAX], value[CFG_HOST_MAX + 24], ttl[16], ms[24];
    const char *argv[8];
} claim_args_t;

static void claim_args(const cluster_t *c, const held_account_t *h, claim_args_t *a) {
    char name[24];
    snprintf(name, sizeof name, "%" PRIu64, h->account);
    key_of(c, a->key, "acct:", name);
    claim_value(c, h, a->value, sizeof a->value);
    snprintf(a->ttl, sizeof a->ttl, "%u", c->cfg.cluster.redis.account_ttl_ms);
    snprintf(a->ms, sizeof a->ms, "%" PRIu64, h->claimed_ms);
    const char *argv[] = { "EVAL", claim_script, "1", a->key, a->value, a->ttl, a->ms, c->cfg.cluster.redis.instance_id };
    memcpy(a->argv, argv, sizeof argv);
}

typedef enum { CLAIM_HELD, CLAIM_REPLACED, CLAIM_LOST, CLAIM_ERROR } claim_outcome_t;

/* What the script's reply says of h's claim. */
static claim_outcome_t claim_outcome(const cluster_t *c, const held_account_t *h, const redisReply *r) {
    if (r->type == REDIS_REPLY_STRING) {
        char other[CFG_HOST_MAX];
        uint64_t theirs = 0;
        return sscanf(r->str, "%63s %" SCNu64, other, &theirs) == 2 && claim_is_later(c, h, theirs, other) ? CLAIM_LOST
                                                                                                           : CLAIM_HELD;
    }
    if (r->type == REDIS_REPLY_INTEGER) return r->integer == 1 ? CLAIM_REPLACED : CLAIM_HELD;
    return CLAIM_ERROR;
}

/* false if Redis could not be asked. `announce`: publish the claim even over an absent key (a
 * new login: an instance holding the account with an older claim must hear of it now). */
static bool claim_in_redis(cluster_t *c, held_account_t *h, bool announce) {
    claim_args_t a;
    claim_args(c, h, &a);
    redisReply *r = command(c, 8, a.argv, NULL);
    if (!r) return false;
    claim_outcome_t o = claim_outcome(c, h, r);
    freeReplyObject(r);
    if (o == CLAIM_LOST) evict(c, h);
    else if (o == CLAIM_REPLACED || (o == CLAIM_HELD && announce)) return publish_claim(c, h);
    return o != CLAIM_ERROR;
}

/* Every account held here, checked and refreshed: the scripts pipelined CLUSTER_PIPELINE at a
 * time, one round trip per batch (a refresh of 20,000 accounts one by one kept the thread from
 * the queues and the subscriber for seconds). From the top down, so that an eviction (which
 * moves the last entry into its slot) touches only entries already done. */
static void claim_all_in_redis(cluster_t *c) {
    uint64_t start_us = os_now_us();
    uint64_t lost[CLUSTER_PIPELINE], replaced[CLUSTER_PIPELINE];
    for (uint32_t end = c->held_count; c->up && end > 0;) {
        uint32_t lo = end > CLUSTER_PIPELINE ? end - CLUSTER_PIPELINE : 0, n_lost = 0, n_replaced = 0;
        for (uint32_t i = lo; i < end; i++) {
            claim_args_t a;
            claim_args(c, &c->held[i], &a);
            redisAppendCommandArgv(c->cmd, 8, a.argv, NULL);
        }
        for (uint32_t i = lo; i < end; i++) {
            void *reply = NULL;
            if (redisGetReply(c->cmd, &reply) != REDIS_OK) {
                drop_connections(c, c->cmd->errstr);
                return;
            }
            redisReply *r = reply;
            if (reply_is_unavailable(r)) {
                char why[64];
                snprintf(why, sizeof why, "%s", r->str);
                freeReplyObject(r);
                drop_connections(c, why);
                return;
            }
            claim_outcome_t o = claim_outcome(c, &c->held[i], r);
            if (o == CLAIM_LOST) lost[n_lost++] = c->held[i].account;
            else if (o == CLAIM_REPLACED) replaced[n_replaced++] = c->held[i].account;
            freeReplyObject(r);
        }
        for (uint32_t i = 0; i < n_replaced; i++) {
            held_account_t *h = held_find(c, replaced[i]);
            if (h) publish_claim(c, h);
        }
        for (uint32_t i = 0; i < n_lost; i++) {
            held_account_t *h = held_find(c, lost[i]);
            if (h) evict(c, h);
        }
        end = lo;
    }
    stat_sub(&c->stats.refresh_us, stat_read(&c->stats.refresh_us));
    stat_add(&c->stats.refresh_us, os_now_us() - start_us);
}

static void send_claim(cluster_t *c, const cluster_op_t *op) {
    held_account_t *h = held_find(c, op->account);
    /* Two logins of one account here, their claims queued out of auth's order: the older lost
     * already (auth evicted it), and must not take the account's entry from the newer. */
    if (h && op->order < h->order) return;
    uint64_t ms = h && h->claimed_ms > op->claimed_ms ? h->claimed_ms : op->claimed_ms; /* never earlier */
    if (!h) {
        if (c->held_count == c->held_cap) {
            c->held_cap = c->held_cap ? c->held_cap * 2 : 64;
            c->held = gs_realloc(c->held, c->held_cap * sizeof *c->held);
        }
        if (u64_map_put(&c->held_at, op->account, c->held_count, NULL) < 0) {
            stat_add(&c->stats.send_failed, 1); /* more accounts than sessions: cannot happen */
            return;
        }
        h = &c->held[c->held_count++];
    }
    *h = (held_account_t){ op->account, ms, op->order, op->value };
    if (!claim_in_redis(c, h, true)) stat_add(&c->stats.send_failed, 1); /* registered when Redis is back */
}

static void send_release(cluster_t *c, const cluster_op_t *op) {
    held_account_t *h = held_find(c, op->account);
    if (!h || h->session != op->value) return; /* a newer session holds it, or it was evicted */
    static const char script[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
    char key[CLUSTER_KEY_MAX], name[24], value[CFG_HOST_MAX + 24];
    snprintf(name, sizeof name, "%" PRIu64, op->account);
    key_of(c, key, "acct:", name);
    claim_value(c, h, value, sizeof value);
    held_remove(c, op->account);
    const char *argv[] = { "EVAL", script, "1", key, value };
    if (!command_ok(c, 5, argv, NULL)) stat_add(&c->stats.send_failed, 1); /* the key expires anyway */
}

static void claim_received(cluster_t *c, const char *msg) {
    char instance[CFG_HOST_MAX];
    uint64_t account, ms;
    if (sscanf(msg, "%63s %" SCNu64 " %" SCNu64, instance, &account, &ms) != 3) return;
    if (!strcmp(instance, c->cfg.cluster.redis.instance_id)) return;
    held_account_t *h = held_find(c, account);
    if (!h) return;
    if (claim_is_later(c, h, ms, instance)) evict(c, h);
    else claim_in_redis(c, h, true); /* ours is later: take the key back and tell them at once */
}

/* ---- game messages ---- */

/* A game message in Redis: {u8 n, the publishing instance's name, the module's bytes}, so that an
 * instance leaves out its own (the logic thread delivered those already). */
static void send_message(cluster_t *c, const cluster_msg_t *op) {
    char channel[CLUSTER_KEY_MAX], name[CLUSTER_CHANNEL_MAX + 1];
    uint8_t body[1 + CFG_HOST_MAX + CLUSTER_MESSAGE_MAX];
    memcpy(name, op->channel, op->channel_len);
    name[op->channel_len] = 0;
    key_of(c, channel, "msg:", name);
    size_t self = strlen(c->cfg.cluster.redis.instance_id);
    body[0] = (uint8_t)self;
    memcpy(body + 1, c->cfg.cluster.redis.instance_id, self);
    memcpy(body + 1 + self, op->data, op->len);
    const char *argv[] = { "PUBLISH", channel, (const char *)body };
    size_t lens[] = { 7, strlen(channel), 1 + self + op->len };
    if (!command_ok(c, 3, argv, lens)) stat_add(&c->stats.send_failed, 1);
}

static void message_received(cluster_t *c, const char *channel, const uint8_t *body, size_t len) {
    size_t n = strlen(channel), from = len ? body[0] : 0;
    if (!len || n > CLUSTER_CHANNEL_MAX || len < 1 + from || len - 1 - from > CLUSTER_MESSAGE_MAX) return;
    const char *self = c->cfg.cluster.redis.instance_id;
    if (from == strlen(self) && !memcmp(body + 1, self, from)) return; /* ours, back from Redis */
    cluster_msg_t m = { .channel_len = (uint8_t)n, .len = (uint16_t)(len - 1 - from) };
    memcpy(m.channel, channel, n);
    memcpy(m.data, body + 1 + from, m.len);
    stat_add(&c->stats.messages_in, 1);
    if (mpsc_push(c->inbound, &m) < 0) stat_add(&c->stats.messages_dropped, 1);
}

void cluster_take_messages(cluster_t *c, cluster_message_fn fn, void *ctx) {
    if (!c) return;
    cluster_msg_t m;
    while (mpsc_pop(c->inbound, &m)) {
        char channel[CLUSTER_CHANNEL_MAX + 1];
        memcpy(channel, m.channel, m.channel_len);
        channel[m.channel_len] = 0;
        fn(ctx, channel, m.data, m.len);
    }
}

/* ---- the thread ---- */

static void subscribed_message(cluster_t *c, redisReply *r) {
    /* ["pmessage", pattern, channel, data] for everything: the patterns below. */
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 || strcmp(r->element[0]->str, "pmessage")) return;
    const char *channel = r->element[2]->str;
    const char *prefix = c->cfg.cluster.redis.key_prefix;
    size_t p = strlen(prefix);
    if (strncmp(channel, prefix, p)) return;
    channel += p;
    const redisReply *d = r->element[3];
    if (!strcmp(channel, "bans")) {
        char instance[CFG_HOST_MAX], address[SOCK_IP_STR_MAX];
        unsigned seconds;
        if (sscanf(d->str, "%63s %63s %u", instance, address, &seconds) == 3 &&
            strcmp(instance, c->cfg.cluster.redis.instance_id))
            ban_received(c, address, seconds);
    } else if (!strcmp(channel, "accounts")) {
        claim_received(c, d->str);
    } else if (!strncmp(channel, "msg:", 4)) {
        message_received(c, channel + 4, (const uint8_t *)d->str, d->len);
    }
}

static void try_connect(cluster_t *c) {
    const char *why = NULL;
    c->cmd = connect_one(c, &why);
    if (!why) c->sub = connect_one(c, &why);
    if (!why) {
        char patterns[3][CLUSTER_KEY_MAX];
        key_of(c, patterns[0], "bans", "");
        key_of(c, patterns[1], "accounts", "");
        key_of(c, patterns[2], "msg:", "*");
        redisReply *r = redisCommand(c->sub, "PSUBSCRIBE %s %s %s", patterns[0], patterns[1], patterns[2]);
        if (!r) why = c->sub->errstr;
        else freeReplyObject(r);
        /* The two other confirmations, then reads that may time out without breaking the context:
         * hiredis treats EAGAIN as "no data yet" only on a non-blocking context. */
        for (int i = 0; !why && i < 2; i++) {
            void *more = NULL;
            if (redisGetReply(c->sub, &more) != REDIS_OK) why = c->sub->errstr;
            if (more) freeReplyObject(more);
        }
        struct timeval slice = { 0, CLUSTER_READ_SLICE_MS * 1000u };
        if (!why) {
            redisSetTimeout(c->sub, slice);
            c->sub->flags &= ~REDIS_BLOCK;
        }
    }
    if (why) {
        /* Logged once: when the first connect fails (after an up, drop_connections says it). */
        if (!c->retry_ms && !c->ever_up) {
            char q[200];
            log_warn("cluster_down", "redis=%s:%d error=%s", c->host, c->port, log_quote(q, sizeof q, why));
        }
        drop_connections(c, why);
        return;
    }
    c->up = true;
    c->up_at_ms = now_ms();
    stat_add(&c->stats.up, 1);
    log_info("cluster_up", "redis=%s:%d instance=%s accounts=%u", c->host, c->port, c->cfg.cluster.redis.instance_id,
             c->held_count);
    if (c->ever_up) stat_add(&c->stats.reconnects, 1);
    c->ever_up = true;
    /* Reconcile: the bans set meanwhile (and ours again), and every account held here checked and
     * registered. */
    load_bans(c);
    resend_own_bans(c);
    claim_all_in_redis(c);
    c->refresh_at_ms = now_ms() + c->cfg.cluster.redis.account_ttl_ms / 3;
}

static void read_subscription(cluster_t *c) {
    if (redisBufferRead(c->sub) != REDIS_OK) {
        drop_connections(c, c->sub->errstr);
        return;
    }
    void *r = NULL;
    while (redisGetReplyFromReader(c->sub, &r) == REDIS_OK && r) {
        subscribed_message(c, r);
        freeReplyObject(r);
        r = NULL;
    }
}

/* After a reconnect: this instance's live bans, each with what is left of it. */
static void resend_own_bans(cluster_t *c) {
    uint64_t now = now_ms();
    for (uint32_t i = 0; c->up && i < c->own_ban_count; i++) {
        if (c->own_bans[i].until_ms <= now) continue;
        cluster_op_t op = { .kind = OP_BAN, .ip = c->own_bans[i].ip,
                            .value = (uint32_t)((c->own_bans[i].until_ms - now + 999) / 1000u) };
        send_ban(c, &op);
    }
}

static void run_op(cluster_t *c, const cluster_op_t *op) {
    if (op->kind == OP_CLAIM) {
        send_claim(c, op); /* kept even while Redis is away: registered when it comes back */
        return;
    }
    if (op->kind == OP_RELEASE) {
        send_release(c, op);
        return;
    }
    remember_ban(c, &op->ip, op->value); /* OP_BAN */
    if (!c->up) stat_add(&c->stats.send_failed, 1);
    else send_ban(c, op);
}

static void run_message(cluster_t *c, const cluster_msg_t *m) {
    if (!c->up) stat_add(&c->stats.send_failed, 1);
    else send_message(c, m);
}

static void cluster_run(void *arg) {
    cluster_t *c = arg;
    cluster_op_t op;
    cluster_msg_t *msg = gs_malloc(sizeof *msg);
    while (!atomic_load(&c->stop)) {
        if (!c->up && now_ms() >= c->retry_at_ms) try_connect(c);
        for (uint32_t i = 0; i < CLUSTER_DRAIN_BATCH && mpsc_pop(c->ops, &op); i++) run_op(c, &op);
        for (uint32_t i = 0; i < CLUSTER_DRAIN_BATCH && mpsc_pop(c->outbound, msg); i++) run_message(c, msg);
        if (c->up && now_ms() >= c->refresh_at_ms) {
            claim_all_in_redis(c);
            c->refresh_at_ms = now_ms() + c->cfg.cluster.redis.account_ttl_ms / 3;
        }
        if (c->up) read_subscription(c); /* waits at most CLUSTER_READ_SLICE_MS */
        else os_sleep_ms(CLUSTER_READ_SLICE_MS);
    }
    /* What the ending sessions queued (their releases): sent while Redis answers, for a bounded
     * time, so that a stopped instance's accounts are free at once, not after account_ttl_ms. */
    uint64_t until = now_ms() + CLUSTER_STOP_DRAIN_MS;
    while (c->up && now_ms() < until && mpsc_pop(c->ops, &op)) run_op(c, &op);
    gs_free(msg);
}

/* ---- the other threads' side ---- */

static void post(cluster_t *c, const cluster_op_t *op) {
    if (mpsc_push(c->ops, op) < 0) stat_add_shared(&c->stats.queue_full, 1);
}

void cluster_publish_ban(cluster_t *c, const sock_ip_t *ip, uint32_t seconds) {
    if (!c) return;
    cluster_op_t op = { .kind = OP_BAN, .value = seconds, .ip = *ip };
    post(c, &op);
}

void cluster_claim_account(cluster_t *c, uint64_t account, uint32_t session, uint64_t order) {
    if (!c || !account) return;
    cluster_op_t op = { .kind = OP_CLAIM, .value = session, .account = account, .claimed_ms = os_wall_us() / 1000u,
                        .order = order };
    post(c, &op);
}

void cluster_release_account(cluster_t *c, uint64_t account, uint32_t session) {
    if (!c || !account) return;
    cluster_op_t op = { .kind = OP_RELEASE, .value = session, .account = account };
    post(c, &op);
}

int cluster_publish(cluster_t *c, const char *channel, const void *data, size_t len) {
    if (!c) return 0;
    size_t n = strlen(channel);
    if (n == 0 || n > CLUSTER_CHANNEL_MAX || len > CLUSTER_MESSAGE_MAX) return -EMSGSIZE;
    cluster_msg_t op = { .channel_len = (uint8_t)n, .len = (uint16_t)len };
    memcpy(op.channel, channel, n);
    memcpy(op.data, data, len);
    if (mpsc_push(c->outbound, &op) < 0) {
        stat_add_shared(&c->stats.queue_full, 1);
        return -ENOBUFS;
    }
    return 0;
}

const cluster_stats_t *cluster_stats(const cluster_t *c) { return &c->stats; }

static int read_password(cluster_t *c, const char *path, char *err, size_t err_len) {
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, err_len, "%s: cannot read: %s (cluster.redis.password_file)", path, strerror(e));
        return -e;
    }
    if (!fgets(c->password, sizeof c->password, f)) c->password[0] = 0;
    fclose(f);
    c->password[strcspn(c->password, "\r\n")] = 0;
    return 0;
}

int cluster_create(cluster_t **out, const cfg_t *cfg, const cluster_hooks_t *hooks, void *ctx, char *err, size_t err_len) {
    *out = NULL;
    const char *address = cfg->cluster.redis.address;
    if (!address[0]) return 0;
    cluster_t *c = gs_calloc(1, sizeof *c);
    c->cfg = *cfg;
    c->hooks = *hooks;
    c->ctx = ctx;
    if (cfg_split_host_port(address, c->host, &c->port) < 0) { /* cfg_validate has said so already */
        snprintf(err, err_len, "cluster.redis.address: must be \"host:port\", not \"%s\"", address);
        gs_free(c);
        return -EINVAL;
    }
    int rc = cfg->cluster.redis.password_file[0] ? read_password(c, cfg->cluster.redis.password_file, err, err_len) : 0;
    if (rc < 0) {
        gs_free(c);
        return rc;
    }
    /* Room for a claim and a release of every session: the directory's work is never refused. */
    size_t directory = cfg->cluster.redis.queue_entries;
    while (directory < 2u * (size_t)cfg->session.max_sessions) directory *= 2;
    mpsc_init(&c->ops, directory, sizeof(cluster_op_t));
    mpsc_init(&c->outbound, cfg->cluster.redis.queue_entries, sizeof(cluster_msg_t));
    mpsc_init(&c->inbound, cfg->cluster.redis.queue_entries, sizeof(cluster_msg_t));
    u64_map_init(&c->held_at, cfg->session.max_sessions);
    c->own_bans = gs_calloc(CLUSTER_OWN_BANS_MAX, sizeof *c->own_bans);
    atomic_init(&c->stop, false);
    *out = c;
    return 0;
}

int cluster_start(cluster_t *c, char *err, size_t err_len) {
    if (!c) return 0;
    int rc = os_thread_start(&c->thread, "gskel-cluster", cluster_run, c);
    if (rc < 0) snprintf(err, err_len, "cannot start the cluster thread: %s", strerror(-rc));
    return rc;
}

void cluster_stop(cluster_t *c) {
    if (!c) return;
    atomic_store(&c->stop, true);
    if (c->thread) os_thread_join(c->thread);
    if (c->cmd) redisFree(c->cmd);
    if (c->sub) redisFree(c->sub);
    mpsc_destroy(c->ops);
    mpsc_destroy(c->outbound);
    mpsc_destroy(c->inbound);
    u64_map_destroy(&c->held_at);
    gs_free(c->held);
    gs_free(c->own_bans);
    memset(c->password, 0, sizeof c->password);
    gs_free(c);
}

/* cluster: several gskel instances acting as one game through Redis (docs/scaling.md). Owns the
 * Redis connections and the one thread that does all their I/O: workers and the logic thread hand
 * it work through a bounded queue and never wait for Redis, which may be down, slow or restarted.
 * Shares three things: bans (a key per address with the ban's expiry, and a message), the account
 * directory (account -> instance, refreshed while its session lives; a claim on another instance
 * evicts the local session) and game modules' messages (pub/sub, in order per publisher). While
 * Redis is away the instance serves its own players and counts what it could not send; when it
 * comes back the live bans are loaded and the local accounts checked and registered again.
 * NULL (nothing connects) unless cluster.redis.address is set. */
#ifndef GSKEL_CLUSTER_H
#define GSKEL_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "sock.h"
#include "stat.h"

typedef struct cluster cluster_t;

/* Limits of game messages (game_publish). */
#define CLUSTER_CHANNEL_MAX 32u       /* channel name bytes */
#define CLUSTER_MESSAGE_MAX 1024u     /* message bytes */

/* What another instance did, told on the cluster thread. */
typedef struct cluster_hooks {
    void (*banned)(void *ctx, const sock_ip_t *ip, uint32_t seconds);
    /* The account logged in on another instance after it did here: the local session goes. */
    void (*account_elsewhere)(void *ctx, uint64_t account, uint32_t session);
} cluster_hooks_t;

typedef struct cluster_stats {
    stat_t up;              /* gauge: 1 while both connections work */
    stat_t reconnects;      /* times it came back */
    stat_t send_failed;     /* publishes, bans, claims that could not reach Redis */
    stat_t queue_full;      /* work refused because the queue to the cluster thread was full (any thread) */
    stat_t messages_in;     /* game messages received */
    stat_t messages_dropped; /* ... and dropped because the logic thread's queue was full */
    stat_t bans_in;         /* bans received from other instances (and loaded on connect) */
    stat_t evictions;       /* local sessions evicted by a login elsewhere */
    stat_t refresh_us;      /* gauge: how long the last check of every held account took */
} cluster_stats_t;

/* 0 with *out NULL when no address is set; -errno with err on a bad address or password file
 * (a config error). Nothing connects yet: work posted before cluster_start waits in the queue. */
int cluster_create(cluster_t **out, const cfg_t *cfg, const cluster_hooks_t *hooks, void *ctx, char *err, size_t err_len);
/* Starts the thread, once whatever the hooks reach (the workers) exists. Connecting happens on
 * the thread: a Redis that is down is not an error. A NULL cluster is a no-op. */
int cluster_start(cluster_t *c, char *err, size_t err_len);
void cluster_stop(cluster_t *c);

/* Any thread, never blocking; a NULL cluster is a no-op. A ban of 0 seconds lifts one. */
void cluster_publish_ban(cluster_t *c, const sock_ip_t *ip, uint32_t seconds);
/* `order`: auth_claim_account's, which orders two claims of one account made here. */
void cluster_claim_account(cluster_t *c, uint64_t account, uint32_t session, uint64_t order);
void cluster_release_account(cluster_t *c, uint64_t account, uint32_t session);
/* -ENOBUFS if the queue is full, -EMSGSIZE past the limits above. */
int cluster_publish(cluster_t *c, const char *channel, const void *data, size_t len);

/* The logic thread: the game messages received since the last call, oldest first. */
typedef void (*cluster_message_fn)(void *ctx, const char *channel, const uint8_t *data, size_t len);
void cluster_take_messages(cluster_t *c, cluster_message_fn fn, void *ctx);

const cluster_stats_t *cluster_stats(const cluster_t *c);

#endif

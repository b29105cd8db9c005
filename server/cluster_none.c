/* cluster.h for builds without a Redis client (the Windows cross build: hiredis is not built for
 * it): with cluster.redis.address set the server refuses to start and says why; without, there is
 * no cluster, as on Linux. */
#include "cluster.h"

#include <errno.h>
#include <stdio.h>

int cluster_create(cluster_t **out, const cfg_t *cfg, const cluster_hooks_t *hooks, void *ctx, char *err, size_t err_len) {
    (void)hooks, (void)ctx;
    *out = NULL;
    if (!cfg->cluster.redis.address[0]) return 0;
    snprintf(err, err_len, "cluster.redis.address: this build has no Redis client (hiredis): clusters run on the Linux build");
    return -ENOTSUP;
}

int cluster_start(cluster_t *c, char *err, size_t err_len) {
    (void)c, (void)err, (void)err_len;
    return 0;
}
void cluster_stop(cluster_t *c) { (void)c; }
void cluster_publish_ban(cluster_t *c, const sock_ip_t *ip, uint32_t seconds) { (void)c, (void)ip, (void)seconds; }
void cluster_claim_account(cluster_t *c, uint64_t account, uint32_t session, uint64_t order) {
    (void)c, (void)account, (void)session, (void)order;
}
void cluster_release_account(cluster_t *c, uint64_t account, uint32_t session) { (void)c, (void)account, (void)session; }
int cluster_publish(cluster_t *c, const char *channel, const void *data, size_t len) {
    (void)c, (void)channel, (void)data, (void)len;
    return -ENOTSUP;
}
void cluster_take_messages(cluster_t *c, cluster_message_fn fn, void *ctx) { (void)c, (void)fn, (void)ctx; }
const cluster_stats_t *cluster_stats(const cluster_t *c) {
    (void)c;
    return NULL;
}

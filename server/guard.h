/* guard: what the server knows about client addresses, shared by every worker: connections per
 * address (guard.max_conns_per_ip), bans with an expiry (set by an operator or automatically after
 * guard.autoban_kicks abusive kicks within guard.autoban_window_s). Consulted at accept, before
 * any session memory is taken, and when a session ends; never per packet. IPv6 addresses are
 * grouped by guard.ipv6_prefix_bits (one subscriber usually holds a whole /64). A short spinlock
 * guards the table: accept and close are not the hot path. */
#ifndef GSKEL_GUARD_H
#define GSKEL_GUARD_H

#include <stdint.h>

#include "config.h"
#include "reason.h"
#include "sock.h"

typedef struct guard guard_t;

int guard_create(guard_t **out, const cfg_t *cfg);
void guard_destroy(guard_t *g);

/* At accept: 0 (admitted: the address now holds one more connection), or the reason to reset:
 * REASON_BANNED or REASON_IP_LIMIT. */
reason_t guard_admit(guard_t *g, const sock_ip_t *ip, uint64_t now_ms);
/* A session of an admitted address ended for `why`; abusive reasons count towards a ban.
 * Returns 1 if this end banned the address. */
int guard_release(guard_t *g, const sock_ip_t *ip, reason_t why, uint64_t now_ms);

/* Bans (seconds > 0) or unbans (0) an address. -ENOSPC if the table is full. */
int guard_ban(guard_t *g, const sock_ip_t *ip, uint32_t seconds, uint64_t now_ms);
/* Seconds of ban left, 0 if not banned. */
uint32_t guard_ban_left(guard_t *g, const sock_ip_t *ip, uint64_t now_ms);
/* Whether a and b fall under the same entry (same address; same prefix for IPv6). */
int guard_same_group(const guard_t *g, const sock_ip_t *a, const sock_ip_t *b);
/* Takes the live guard.* values of cfg (SIGHUP). Turning max_conns_per_ip on counts connections
 * from then on; turning it off forgets the counts. */
void guard_reconfigure(guard_t *g, const cfg_t *cfg);

/* Connections the address holds now. */
uint32_t guard_conns(guard_t *g, const sock_ip_t *ip, uint64_t now_ms);

#endif

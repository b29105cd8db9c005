/* client: the one client side of the wire protocol (target gskel_client), for gskel-bench, C tests
 * and a game team's test clients. Owns socket set-up (non-blocking connect, source binding), frame
 * encoding and reassembly through common/frame.h (one codec for both ends), and request/reply
 * helpers (login, logout, ping) with deadlines. It starts no threads and never logs: errors are
 * negative errno values or the CLIENT_E* codes below (client_strerror names them). */
#ifndef GSKEL_CLIENT_H
#define GSKEL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "frame.h"
#include "pool.h"
#include "protocol.h"

/* Op numbers and limits: common/protocol.h, shared with the server. */


/* Errors beyond errno: the server sent a frame the codec rejects; the server ended the stream
 * (FIN) where a frame was expected; a frame callback asked to stop; a reply had the wrong op. */
#define CLIENT_EBADFRAME FRAME_EBADLEN
#define CLIENT_EOF (-1001)
#define CLIENT_ESTOPPED (-1002)
#define CLIENT_EUNEXPECTED (-1003)

const char *client_strerror(int err);

/* CLOCK_MONOTONIC in ns: the clock every latency in the bench is measured with. */
uint64_t client_now_ns(void);

/* Where to connect: a resolved address. */
typedef struct client_target {
    struct sockaddr_storage addr;
    socklen_t addr_len;
} client_target_t;

/* Resolves host (IP literal or name) and port. Returns 0 or -EINVAL / -ENOENT. */
int client_target_resolve(client_target_t *t, const char *host, uint16_t port);
bool client_target_is_loopback(const client_target_t *t);
uint16_t client_target_port(const client_target_t *t);

enum {
    CLIENT_NONBLOCK = 1 << 0, /* return at once; finish with client_connect_result */
    CLIENT_NODELAY = 1 << 1,  /* TCP_NODELAY, as the server sets on its side */
};

/* Opens a TCP connection to t. src (an IP literal of t's family, or NULL) binds the local
 * address first, with IP_BIND_ADDRESS_NO_PORT so the port is chosen at connect() time per
 * destination: each source address then has the whole ephemeral range to itself. Returns the fd,
 * or -errno. With CLIENT_NONBLOCK, *in_progress says the handshake is still going on (wait for
 * writability, then client_connect_result). */
int client_open(const client_target_t *t, const char *src, int flags, bool *in_progress);
/* 0 once a non-blocking connect has succeeded, else its -errno. */
int client_connect_result(int fd);

/* Encodes one frame (header by frame_header_put, then the payload) into out. Returns the bytes
 * written, or 0 if it does not fit in cap or in a frame. */
size_t client_frame_put(uint8_t *out, size_t cap, uint16_t op, const void *payload, size_t len);

/* Per-thread receive state shared by every connection of the thread: the one buffer reads land
 * in, and the pool that holds frames cut across reads. */
typedef struct client_rx {
    pool_t partials;
    uint32_t max_frame;
    uint8_t *buf;
    size_t buf_len;
} client_rx_t;

/* max_frame: the longest frame accepted (the server's session.max_frame_bytes, at most
 * FRAME_MAX_BYTES); buf_len: bytes per recv. Returns 0 or -ENOMEM / -EINVAL. */
int client_rx_init(client_rx_t *rx, uint32_t max_frame, size_t buf_len);
void client_rx_destroy(client_rx_t *rx);

typedef struct client_conn {
    int fd;
    frame_reader_t reader;
    /* Frames read by a blocking helper but not yet handed out (a read may carry several). */
    uint8_t *stash;
    uint32_t stash_len, stash_off, stash_cap;
    uint32_t taken; /* bytes of the frame last handed out, dropped at the next call */
} client_conn_t;

void client_conn_init(client_conn_t *c, int fd);

/* One recv into rx->buf, feeding every complete frame to fn (frame_t's payload is valid only
 * during the call; fn returns 0 to go on). Returns the bytes read (> 0), 0 at end of stream,
 * -EAGAIN when nothing was there, CLIENT_EBADFRAME, CLIENT_ESTOPPED when fn returned non-zero,
 * or -errno (-ECONNRESET: the server reset the connection). */
int client_conn_read(client_conn_t *c, client_rx_t *rx, frame_fn fn, void *ctx);

/* Writes all of buf, waiting for writability up to timeout_ms in total (blocking or not).
 * Returns 0, -ETIMEDOUT, or -errno (-EPIPE / -ECONNRESET once the server has gone). */
int client_send_all(int fd, const void *buf, size_t len, int timeout_ms);
int client_send_frame(client_conn_t *c, uint16_t op, const void *payload, size_t len, int timeout_ms);

/* Waits up to timeout_ms for the next frame. *out stays valid until the next call on c.
 * Returns 0, -ETIMEDOUT, CLIENT_EOF, CLIENT_EBADFRAME, -ENOBUFS (over 1 MiB unread), or -errno. */
int client_recv_frame(client_conn_t *c, client_rx_t *rx, int timeout_ms, frame_t *out);

/* Request/reply ops. A reply other than the expected one (a KICK, say) is CLIENT_EUNEXPECTED
 * and, when kick is not NULL, copied there for the caller to inspect. */
int client_login(client_conn_t *c, client_rx_t *rx, const char *name, int timeout_ms,
                 uint32_t *session_id, frame_t *kick);
/* LOGOUT, then waits for LOGOUT_OK. The caller then closes (client_close): the protocol has
 * the client send the first FIN, so the TIME_WAIT stays on the client. */
int client_logout(client_conn_t *c, client_rx_t *rx, int timeout_ms, frame_t *kick);
/* PING with the local clock; *rtt_ns is the round trip, *server_us the server's clock. */
int client_ping(client_conn_t *c, client_rx_t *rx, int timeout_ms, uint64_t *rtt_ns,
                uint64_t *server_us);
/* Splits a KICK payload into its reason and text. Returns 0 or CLIENT_EBADFRAME. */
int client_parse_kick(const frame_t *f, uint16_t *reason, const uint8_t **text, uint16_t *text_len);

/* Closes with FIN (client_close) or RST (client_abort: SO_LINGER {1,0}), and frees what the
 * connection holds. The fd is -1 afterwards. */
void client_close(client_conn_t *c, client_rx_t *rx);
void client_abort(client_conn_t *c, client_rx_t *rx);

#endif

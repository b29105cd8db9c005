/* gskel-ref-uv: the libuv reference for the echo benchmark, written the fast way: every read
 * lands in one shared buffer handed out by alloc_cb (a cut frame's bytes are put in front of it
 * there, so a connection owns memory only while a frame is cut), complete frames go back with
 * uv_try_write, and only what the kernel did not take is copied and queued with uv_write.
 * Same framing as gskel (u16 len incl. header, u16 op, LE); a bad length gets RST.
 * Usage: gskel-ref-uv [--port N]   (127.0.0.1; 0 = any free port, printed on stderr). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define REF_MAX_FRAME 65535u
#define REF_BUF_BYTES (64u * 1024u)

typedef struct ref_conn {
    uv_tcp_t tcp;
    uint8_t *part;
    uint32_t part_len;
} ref_conn_t;

static uv_loop_t *ref_loop;
static uv_tcp_t ref_server;
static uv_signal_t ref_sigterm, ref_sigint;
static char ref_buf[REF_MAX_FRAME + REF_BUF_BYTES];
static uint32_t ref_buf_head; /* bytes of a cut frame copied in front by alloc_cb */

static void ref_on_closed(uv_handle_t *h)
{
    ref_conn_t *c = (ref_conn_t *)h;
    free(c->part);
    free(c);
}

static void ref_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    ref_conn_t *c = (ref_conn_t *)h;
    /* alloc_cb runs right before this handle's read, so the shared buffer is ours till read_cb. */
    ref_buf_head = c->part_len;
    if (c->part_len)
        memcpy(ref_buf, c->part, c->part_len);
    *buf = uv_buf_init(ref_buf + c->part_len, REF_BUF_BYTES);
}

static void ref_on_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void ref_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    ref_conn_t *c = (ref_conn_t *)s;
    if (nread == 0)
        return;
    if (nread < 0) {
        uv_close((uv_handle_t *)s, ref_on_closed);
        return;
    }
    uint32_t total = ref_buf_head + (uint32_t)nread, off = 0;
    const uint8_t *p = (const uint8_t *)ref_buf;
    while (total - off >= 4) {
        uint32_t len = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8;
        if (len < 4) {
            uv_tcp_close_reset(&c->tcp, ref_on_closed);
            return;
        }
        if (len > total - off)
            break;
        off += len;
    }
    c->part_len = total - off;
    if (c->part_len) {
        if (!c->part && !(c->part = malloc(REF_MAX_FRAME))) {
            uv_tcp_close_reset(&c->tcp, ref_on_closed);
            return;
        }
        memmove(c->part, p + off, c->part_len);
    }
    if (off == 0)
        return;
    uv_buf_t out = uv_buf_init(ref_buf, off);
    int w = uv_try_write(s, &out, 1);
    if (w == UV_EAGAIN)
        w = 0;
    if (w < 0) {
        uv_close((uv_handle_t *)s, ref_on_closed);
        return;
    }
    if ((uint32_t)w == off)
        return;
    uint32_t rest = off - (uint32_t)w;
    uv_write_t *req = malloc(sizeof *req + rest);
    if (!req) {
        uv_close((uv_handle_t *)s, ref_on_closed);
        return;
    }
    memcpy(req + 1, ref_buf + w, rest);
    uv_buf_t q = uv_buf_init((char *)(req + 1), rest);
    if (uv_write(req, s, &q, 1, ref_on_written) < 0) {
        free(req);
        uv_close((uv_handle_t *)s, ref_on_closed);
    }
}

static void ref_on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    ref_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return;
    uv_tcp_init(ref_loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, ref_on_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, ref_alloc, ref_on_read);
}

static void ref_on_signal(uv_signal_t *h, int sig)
{
    (void)h;
    (void)sig;
    uv_stop(ref_loop);
}

int main(int argc, char **argv)
{
    long port = 7777;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--port") && i + 1 < argc && (port = strtol(argv[++i], &end, 10), *end == 0) &&
            port >= 0 && port <= 65535)
            continue;
        fprintf(stderr, "usage: gskel-ref-uv [--port N]\n");
        return 2;
    }
    ref_loop = uv_default_loop();
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", (int)port, &a);
    uv_tcp_init(ref_loop, &ref_server);
    int rc = uv_tcp_bind(&ref_server, (const struct sockaddr *)&a, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&ref_server, 4096, ref_on_connection);
    int alen = sizeof a;
    if (rc == 0)
        rc = uv_tcp_getsockname(&ref_server, (struct sockaddr *)&a, &alen);
    if (rc < 0) {
        fprintf(stderr, "gskel-ref-uv: listen: %s\n", uv_strerror(rc));
        return 1;
    }
    fprintf(stderr, "event=listening port=%u\n", ntohs(a.sin_port));
    uv_signal_init(ref_loop, &ref_sigterm);
    uv_signal_start(&ref_sigterm, ref_on_signal, SIGTERM);
    uv_signal_init(ref_loop, &ref_sigint);
    uv_signal_start(&ref_sigint, ref_on_signal, SIGINT);
    uv_run(ref_loop, UV_RUN_DEFAULT);
    return 0;
}

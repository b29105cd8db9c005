/* gskel-client-example: the client library end to end, the way a game team's test client uses
 * it: connect, LOGIN, ECHO, PING, LOGOUT, then close first (the client keeps the TIME_WAIT, as the
 * protocol asks). `gskel-client-example [--host H] [--port N]`: exit 0 when every reply was the
 * one the protocol promises, 1 otherwise (with the step and the error on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define EXAMPLE_TIMEOUT_MS 5000

static int example_fail(const char *step, int err)
{
    fprintf(stderr, "gskel-client-example: %s: %s\n", step, client_strerror(err));
    return 1;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = 7777;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
        else if (!strcmp(argv[i], "--port"))
            port = strtol(argv[i + 1], NULL, 10);
    }
    if ((argc - 1) % 2 || port <= 0 || port > 65535) {
        fprintf(stderr, "usage: gskel-client-example [--host H] [--port N]\n");
        return 2;
    }
    client_target_t t;
    if (client_target_resolve(&t, host, (uint16_t)port) < 0)
        return example_fail("resolve", -22);
    client_rx_t rx;
    if (client_rx_init(&rx, 8192, 64 * 1024) < 0)
        return example_fail("client_rx_init", -12);
    int fd = client_open(&t, NULL, CLIENT_NODELAY, NULL);
    if (fd < 0)
        return example_fail("connect", fd);
    client_conn_t c;
    client_conn_init(&c, fd);

    uint32_t id;
    frame_t kick;
    int rc = client_login(&c, &rx, "example", EXAMPLE_TIMEOUT_MS, &id, &kick);
    if (rc < 0)
        return example_fail("login", rc);

    static const char hello[] = "hello, gskel";
    frame_t f;
    rc = client_send_frame(&c, OP_ECHO, hello, sizeof hello - 1, EXAMPLE_TIMEOUT_MS);
    if (rc == 0)
        rc = client_recv_frame(&c, &rx, EXAMPLE_TIMEOUT_MS, &f);
    if (rc == 0 && (f.op != OP_ECHO || f.payload_len != sizeof hello - 1 ||
                    memcmp(f.payload, hello, sizeof hello - 1) != 0))
        rc = CLIENT_EUNEXPECTED;
    if (rc < 0)
        return example_fail("echo", rc);

    uint64_t rtt_ns, server_us;
    rc = client_ping(&c, &rx, EXAMPLE_TIMEOUT_MS, &rtt_ns, &server_us);
    if (rc < 0)
        return example_fail("ping", rc);

    rc = client_logout(&c, &rx, EXAMPLE_TIMEOUT_MS, &kick);
    if (rc < 0)
        return example_fail("logout", rc);
    client_close(&c, &rx);
    client_rx_destroy(&rx);
    printf("ok session=%u rtt_us=%.1f server_time_us=%llu\n", id, (double)rtt_ns / 1e3,
           (unsigned long long)server_us);
    return 0;
}

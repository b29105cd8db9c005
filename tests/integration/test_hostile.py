"""Hostile traffic, all at once against one server, while a normal client is served throughout:
random bytes, clients that reset mid-frame, half frames then FIN, hundreds of slowloris sockets,
one address over its limit. Afterwards the server leaks no socket (no CLOSE_WAIT, no stale
ESTABLISHED), leaves no TIME_WAIT, and its memory stays bounded. CTest label `hostile`."""
import random
import socket
import struct
import threading

from gskel_harness import OP_ECHO, ServerTestCase, frame, main, wait_until


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def rst_close(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class HostileTest(ServerTestCase):
    overrides = {"session": {"login_timeout_ms": 1500, "max_frame_bytes": 1024, "send_chunk_bytes": 4096},
                 "guard": {"max_conns_per_ip": 400, "partial_frame_timeout_ms": 1000, "autoban_kicks": 0}}

    def attack(self, port, rng):
        # Random bytes: almost always a bad length or op.
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.10", 0))
            try:
                s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 600))))
            except (ConnectionResetError, BrokenPipeError):
                pass
            s.close()
        # Clients that reset in the middle of a frame.
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.11", 0))
            s.sendall(struct.pack("<HH", 200, OP_ECHO) + b"x" * rng.randint(0, 150))
            rst_close(s)
        # Half a frame, then FIN.
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.12", 0))
            s.sendall(struct.pack("<HH", 300, OP_ECHO) + b"y" * 10)
            s.shutdown(socket.SHUT_WR)
            s.close()
        # One address far over its limit (400): the excess is reset at accept.
        over = []
        for _ in range(450):
            try:
                over.append(socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.13", 0)))
            except ConnectionResetError:
                pass
        return over

    def test_server_survives_and_leaks_nothing(self):
        port, pid = self.server.port, self.server.proc.pid
        rss_before = rss_kib(pid)
        normal = self.server.connect(source="127.0.0.2")
        normal.login(b"honest")
        # Hundreds of slowloris sockets: a byte of a header each, then silence.
        slowloris = []
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.14", 0))
            s.sendall(b"\x10")
            slowloris.append(s)
        over = []
        attacker = threading.Thread(target=lambda: over.extend(self.attack(port, random.Random(7))))
        attacker.start()
        served = 0
        while attacker.is_alive():
            self.assertEqual(normal.echo(struct.pack("<I", served)), struct.pack("<I", served))
            served += 1
        attacker.join()
        self.assertGreater(served, 0)
        # The slowloris sockets are reset by the partial-frame / login deadlines.
        self.server.wait_for_log("disconnect", count=300, reason="slow_sender")
        for s in slowloris + over:
            s.close()
        self.assertEqual(normal.echo(b"after"), b"after")
        self.assertGreaterEqual(len(self.server.events("refused", reason="ip_limit")), 50)
        self.assertGreater(len(self.server.events("disconnect", reason="bad_frame"))
                           + len(self.server.events("disconnect", reason="bad_opcode")), 0)

        def only_the_normal_client_left():
            states = self.server.socket_states()
            return states.get("ESTABLISHED", 0) == 1 and states.get("CLOSE_WAIT", 0) == 0 and states
        wait_until(only_the_normal_client_left, "every hostile socket to be gone from the server")
        states = self.server.socket_states()
        self.assertEqual(states.get("TIME_WAIT", 0), 0, states)
        self.assertLess(rss_kib(pid) - rss_before, 64 * 1024)
        self.assertEqual(normal.echo(b"still"), b"still")


if __name__ == "__main__":
    main()

"""Every way a connection ends (shared/DESIGN.md, "Closing"), seen from the client, with the
server's TIME_WAIT and CLOSE_WAIT counted on its port (ServerTestCase.tearDown counts them too)."""
import os
import signal
import socket
import struct
import time

from gskel_harness import (OP_ECHO, OP_KICK, OP_LOGOUT, OP_LOGOUT_OK, Client, ServerTestCase,
                           frame, main, wait_until)

MANY = 1000


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class ClosingTest(ServerTestCase):
    overrides = {"session": {"login_timeout_ms": 0, "idle_timeout_ms": 0, "close_grace_ms": 300}}

    def assert_no_wait_states(self):
        states = self.server.socket_states()
        self.assertEqual(states.get("TIME_WAIT", 0), 0, states)
        self.assertEqual(states.get("CLOSE_WAIT", 0), 0, states)

    def test_client_close_is_answered_at_once_with_fin(self):
        c = self.server.connect()
        c.login()
        c.close()
        line = self.server.wait_for_log("disconnect", reason="client_close")
        self.assertEqual(line["close"], "fin")
        self.assert_no_wait_states()

    def test_request_sent_with_the_client_fin_is_answered_before_the_server_closes(self):
        # The reply and the end of stream can reach the server in one loop turn (io_uring hands
        # both over at once): the reply still goes out, then the server's FIN.
        for i in range(20):
            c = self.server.connect()
            c.send_frame(OP_ECHO, b"last words %d" % i)
            c.sock.shutdown(socket.SHUT_WR)
            self.assertEqual(c.expect_frame(OP_ECHO), b"last words %d" % i)
            self.assertEqual(c.end_of_stream(), "fin")
            c.close()
        self.server.wait_for_log("disconnect", count=20, reason="client_close")
        self.assert_no_wait_states()

    def test_logout_then_client_close_leaves_nothing_on_the_server(self):
        c = self.server.connect()
        c.login()
        c.send_frame(OP_LOGOUT)
        self.assertEqual(c.recv_frame(), (OP_LOGOUT_OK, b""))
        c.close()
        self.assertEqual(self.server.wait_for_log("disconnect", reason="logout")["close"], "fin")
        self.assert_no_wait_states()

    def test_logout_without_client_close_is_reset_after_the_grace(self):
        c = self.server.connect()
        c.login()
        c.send_frame(OP_LOGOUT)
        self.assertEqual(c.recv_frame(), (OP_LOGOUT_OK, b""))
        self.assertEqual(c.end_of_stream(), "rst")
        self.assertEqual(self.server.wait_for_log("disconnect", reason="logout")["close"], "rst")

    def test_frames_after_logout_are_not_dispatched(self):
        c = self.server.connect()
        c.login()
        c.send(frame(OP_LOGOUT) + frame(OP_ECHO, b"late") + frame(0x7777))
        self.assertEqual(c.recv_frame(), (OP_LOGOUT_OK, b""))
        c.close()
        # The unknown op after LOGOUT is dropped, not punished: the reason stays logout.
        self.assertEqual(self.server.wait_for_log("disconnect", reason="logout")["close"], "fin")

    def test_shutdown_answers_received_frames_then_kicks_with_notice(self):
        c = self.server.connect()
        c.login()
        c.send(b"".join(frame(OP_ECHO, struct.pack("<I", i)) for i in range(50)))  # one segment
        self.assertEqual(c.expect_frame(OP_ECHO), struct.pack("<I", 0))
        self.server.proc.send_signal(signal.SIGTERM)
        for i in range(1, 50):
            self.assertEqual(c.expect_frame(OP_ECHO), struct.pack("<I", i))
        self.assertEqual(c.expect_kick(), ("shutdown", "server shutting down"))
        c.close()
        self.assertEqual(self.server.stop(), 0)
        self.assertEqual(self.server.events("disconnect", reason="shutdown")[0]["close"], "fin")

    def test_slow_reader_is_reset_and_server_memory_stays_bounded(self):
        pid = self.server.proc.pid
        before = rss_kib(pid)
        readers = []
        for _ in range(20):
            c = self.server.connect()
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            readers.append(c)
        payload = frame(OP_ECHO, b"s" * 8000) * 8
        alive = set(range(len(readers)))
        deadline = time.monotonic() + 60
        while alive and time.monotonic() < deadline:
            for i in list(alive):
                try:
                    readers[i].sock.settimeout(0.05)
                    readers[i].sock.send(payload)
                except (socket.timeout, BlockingIOError):
                    pass  # our send buffer is full too: keep pushing while the server reads
                except (ConnectionResetError, BrokenPipeError):
                    alive.discard(i)
        self.assertFalse(alive, "some never-reading clients were not reset")
        self.server.wait_for_log("disconnect", count=len(readers), reason="slow_reader")
        # Bounded: 20 queues of at most send_queue_limit_bytes (256 KiB) each, plus pools.
        self.assertLess(rss_kib(pid) - before, 64 * 1024)
        bystander = self.server.connect()
        self.assertEqual(bystander.echo(b"still here"), b"still here")


class TimeoutTest(ServerTestCase):
    overrides = {"session": {"login_timeout_ms": 300, "idle_timeout_ms": 600, "close_grace_ms": 300}}

    def test_no_login_in_time_is_reset(self):
        c = self.server.connect()
        self.assertEqual(c.end_of_stream(), "rst")
        self.assertEqual(c.trailing, [])
        self.assertEqual(self.server.wait_for_log("disconnect", reason="login_timeout")["close"], "rst")

    def test_idle_session_is_kicked_with_notice_and_closing_client_leaves_no_time_wait(self):
        c = self.server.connect()
        c.login()
        self.assertEqual(c.expect_kick(), ("idle_timeout", "idle timeout"))
        c.close()
        self.assertEqual(self.server.wait_for_log("disconnect", reason="idle_timeout")["close"], "fin")

    def test_idle_session_that_does_not_close_after_the_notice_is_reset(self):
        c = self.server.connect()
        c.login()
        self.assertEqual(c.end_of_stream(), "rst")
        self.assertEqual([op for op, _ in c.trailing], [OP_KICK])
        self.assertEqual(self.server.wait_for_log("disconnect", reason="idle_timeout")["close"], "rst")

    def test_traffic_keeps_a_session_from_idling_out(self):
        c = self.server.connect()
        c.login()
        for _ in range(12):  # 12 x 100 ms = twice the idle timeout
            self.assertEqual(c.echo(b"alive"), b"alive")
            time.sleep(0.1)
        self.assertEqual(self.server.events("disconnect", reason="idle_timeout"), [])


class ManyClientsTest(ServerTestCase):
    """The issue's figures: 1,000 of each ending, and not one TIME_WAIT or CLOSE_WAIT left."""
    overrides = {"session": {"login_timeout_ms": 0, "idle_timeout_ms": 0, "close_grace_ms": 2000}}

    def connect_many(self, n=MANY):
        return [Client(self.server.port) for _ in range(n)]

    def test_thousand_kicked_cheaters_see_rst_and_leave_no_time_wait(self):
        clients = self.connect_many()
        for c in clients:
            c.send(struct.pack("<HH", 2, OP_ECHO))
        results = [c.end_of_stream() for c in clients]
        self.assertEqual(results.count("rst"), MANY)
        self.server.wait_for_log("disconnect", count=MANY, reason="bad_frame")
        self.assert_no_wait_states()

    def test_thousand_logouts_leave_no_wait_states(self):
        clients = self.connect_many()
        for c in clients:
            c.login()
            c.send_frame(OP_LOGOUT)
        for c in clients:
            self.assertEqual(c.recv_frame(), (OP_LOGOUT_OK, b""))
            c.close()
        self.server.wait_for_log("disconnect", count=MANY, reason="logout")
        self.assertEqual(len(self.server.events("disconnect", reason="logout", close="fin")), MANY)
        self.assert_no_wait_states()

    def test_thousand_clients_closing_first_leave_no_close_wait(self):
        clients = self.connect_many()
        for c in clients:
            c.echo(b"hi")
        for c in clients:
            c.close()
        self.server.wait_for_log("disconnect", count=MANY, reason="client_close")
        wait_until(lambda: self.server.socket_states().get("ESTABLISHED", 0) == 0,
                   "server sockets to close")
        self.assert_no_wait_states()

    assert_no_wait_states = ClosingTest.assert_no_wait_states


if __name__ == "__main__":
    main()

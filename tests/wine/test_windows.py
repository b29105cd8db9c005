"""What only the Windows build has, pinned from Linux with the server under Wine: the IOCP backend's
close paths with operations in flight, its two receive modes, the console stop event, Windows
config paths, and cJSON as built from Debian's source package. The wire-level suite
(tests/integration/, workers sharing one listener included) runs against the same binary."""
import json
import os
import socket
import subprocess
import tempfile
import threading
import unittest
from unittest import mock

from gskel_harness import (OP_ECHO, SERVER, SERVER_PREFIX, Server, ServerTestCase, frame, main, server_path,
                           socket_states_on_port)

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_server(*args, timeout=60):
    return subprocess.run([*SERVER_PREFIX, SERVER, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


class WindowsCliTest(unittest.TestCase):
    def test_print_config_prints_the_shipped_defaults_as_json(self):
        r = run_server("--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(SOURCE_DIR, "config", "server.json")) as f:
            self.assertEqual(json.loads(r.stdout), json.load(f))

    def test_config_error_names_the_windows_path_line_and_key(self):
        fd, path = tempfile.mkstemp(prefix="gskel-wine-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write('{\n  "socket": {"sndbufx": 1}\n}')
        try:
            r = run_server("--config", server_path(path), "--check-config")
        finally:
            os.unlink(path)
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith(f"gskel-server: {server_path(path)}:2: socket.sndbufx: unknown key"),
                        lines[0])


class ConsoleStopTest(unittest.TestCase):
    def test_ctrl_c_resets_every_client_and_exits_0(self):
        s = Server()
        clients = [s.connect() for _ in range(3)]
        for c in clients:
            self.assertEqual(c.echo(b"x"), b"x")
        port = s.port
        self.assertEqual(s.stop(), 0, "\n".join(s.lines[-20:]))
        for c in clients:
            self.assertEqual(c.end_of_stream(), "rst")
        self.assertEqual(len(s.events("disconnect", reason="shutdown", close="rst")), 3)
        self.assertEqual(socket_states_on_port(port).get("TIME_WAIT", 0), 0)


class FullTableTest(ServerTestCase):
    overrides = {"session": {"max_sessions": 1}}

    def test_a_newcomer_to_a_full_table_is_reset_before_any_session(self):
        first = self.server.connect()
        self.assertEqual(first.echo(b"in"), b"in")
        self.assertTrue(self.server.refuses())
        self.assertEqual(first.echo(b"still"), b"still")


class SlowReaderTest(ServerTestCase):
    # A small kernel send buffer, so the server's WSASend stays pending while the client reads
    # nothing, and a small queue, so the abort comes while that send is in flight.
    overrides = {"socket": {"sndbuf": 16384}, "session": {"send_queue_limit_bytes": 65536}}

    def test_a_reader_that_stops_is_reset_with_its_send_in_flight(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", self.server.port))
        request = frame(OP_ECHO, b"z" * 8000)

        def flood():
            try:
                for _ in range(2000):
                    sock.sendall(request)
            except OSError:
                pass  # the reset arrived

        t = threading.Thread(target=flood, daemon=True)
        t.start()
        line = self.server.wait_for_log("disconnect", reason="slow_reader")
        self.assertEqual(line["close"], "rst")
        t.join(timeout=20)
        sock.close()


class BufferedReceiveTest(ServerTestCase):
    """GSKEL_IOCP_RECV=buffered: a WSARecv buffer per connection instead of zero-byte reads."""

    def setUp(self):
        with mock.patch.dict(os.environ, {"GSKEL_IOCP_RECV": "buffered"}):
            super().setUp()

    def test_buffered_mode_is_the_one_running(self):
        self.assertIn("per connection", self.server.wait_for_log("worker_started")["io"])

    def test_buffered_mode_reassembles_split_and_pipelined_frames(self):
        c = self.server.connect()
        data = frame(OP_ECHO, b"abc") + frame(OP_ECHO, b"y" * 8188)
        for cut in (1, 3, 5, 4000):
            c.send(data[:cut])
            c.send(data[cut:])
            self.assertEqual(c.expect_frame(OP_ECHO), b"abc")
            self.assertEqual(c.expect_frame(OP_ECHO), b"y" * 8188)

    def test_buffered_mode_client_close_is_answered_with_fin(self):
        c = self.server.connect()
        c.echo(b"bye")
        c.close()
        self.server.wait_for_log("disconnect", reason="client_close", close="fin")


if __name__ == "__main__":
    main()

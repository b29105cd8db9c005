"""The command line and config errors of the real binary: exit codes and one-line messages."""
import json
import os
import signal
import subprocess
import tempfile
import unittest

from gskel_harness import BACKEND, SERVER, Server, main

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*args, timeout=30):
    return subprocess.run([SERVER, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


class ConfigFile:
    def __init__(self, text):
        fd, self.path = tempfile.mkstemp(prefix="gskel-cli-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(text)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        os.unlink(self.path)


class CliTest(unittest.TestCase):
    def assert_config_error(self, text, expected):
        with ConfigFile(text) as path:
            for flag in ("--check-config", "--print-config"):
                r = run("--config", path, flag)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                lines = r.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertTrue(lines[0].startswith(f"gskel-server: {path}:"), lines[0])
                self.assertIn(f"{path}:{expected}", lines[0])
            # Serving with a bad config fails the same way, before binding anything.
            r = run("--config", path, "--port", "0")
            self.assertEqual(r.returncode, 2, r.stderr)

    def test_print_config_prints_the_shipped_defaults_as_json(self):
        r = run("--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        printed = json.loads(r.stdout)
        with open(os.path.join(SOURCE_DIR, "config", "server.json")) as f:
            self.assertEqual(printed, json.load(f))

    def test_print_config_applies_file_then_flags(self):
        with ConfigFile('{"listen": {"port": 9000}, "socket": {"sndbuf": 65536}}') as path:
            r = run("--config", path, "--port", "9100", "--workers", "3", "--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        cfg = json.loads(r.stdout)
        self.assertEqual(cfg["listen"]["port"], 9100)
        self.assertEqual(cfg["workers"], 3)
        self.assertEqual(cfg["socket"]["sndbuf"], 65536)
        self.assertEqual(cfg["session"]["max_frame_bytes"], 8192)

    def test_check_config_accepts_a_valid_file(self):
        with ConfigFile('{"session": {"max_sessions": 500}, "auth": {"mode": "none"}}') as path:
            r = run("--config", path, "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_ticket_login_without_a_key_file_is_one_line_and_exit_2(self):
        # The shipped default is auth.mode "ticket" with keys/tickets.pub, relative to where the
        # server runs; here there is none.
        with tempfile.TemporaryDirectory() as empty:
            for action in ("--check-config", None):
                r = subprocess.run([SERVER, "--port", "0"] + ([action] if action else []), cwd=empty,
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
                self.assertIn("keys/tickets.pub: cannot read", r.stderr)
                self.assertIn("auth.key_file", r.stderr)

    def test_syntax_error_names_line_and_column(self):
        self.assert_config_error('{\n  "listen": {\n    "port": 7777,\n  }\n}\n', "4:3: syntax error")

    def test_unknown_key_is_named_with_its_path(self):
        self.assert_config_error('{\n  "socket": {"sndbufx": 1}\n}', "2: socket.sndbufx: unknown key")

    def test_wrong_type_is_named_with_its_path(self):
        self.assert_config_error('{"socket": {"sndbuf": "big"}}', "1: socket.sndbuf: must be an integer in 0..1073741824")

    def test_out_of_range_value_is_named_with_its_path(self):
        self.assert_config_error('{"listen": {"port": 70000}}', "1: listen.port: must be an integer in 0..65535")

    def test_unknown_backend_name_lists_the_choices(self):
        with ConfigFile('{"backend": "kqueue"}') as path:
            r = run("--config", path, "--check-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("backend: must be one of", r.stderr)

    def test_missing_config_file_is_exit_2(self):
        r = run("--config", "/nonexistent/gskel.json", "--check-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/gskel.json", r.stderr)

    def test_unknown_flag_is_exit_2(self):
        r = run("--frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--frobnicate", r.stderr)

    def test_bad_port_flag_is_exit_2(self):
        r = run("--port", "http", "--check-config")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(), "gskel-server: --port: must be a non-negative integer, not 'http'")

    def test_out_of_range_port_flag_names_the_key(self):
        r = run("--port", "65536", "--check-config")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(),
                         "gskel-server: after command-line flags: listen.port: must be an integer in 0..65535")

    def test_backend_that_is_not_built_in_is_exit_2(self):
        r = run("--backend", "iocp", "--port", "0")
        self.assertEqual(r.returncode, 2)
        self.assertIn("iocp", r.stderr)

    def test_check_config_refuses_a_backend_that_cannot_run_here(self):
        r = run("--backend", "iocp", "--check-config")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("gskel-server: backend iocp: "), r.stderr)

    def test_help_lists_every_flag(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for flag in ("--config", "--port", "--backend", "--workers", "--check-config", "--print-config"):
            self.assertIn(flag, r.stdout)

    def test_sigint_and_sigterm_stop_with_exit_0(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            s = Server()
            c = s.connect()
            self.assertEqual(c.echo(b"x"), b"x")
            self.assertEqual(s.stop(sig), 0)
            # Told first (KICK), then reset when it did not close within the grace.
            self.assertEqual(c.end_of_stream(), "rst")
            self.assertEqual(c.trailing, [(0x0020, b"\x0e\x00server shutting down")])

    def test_repeated_stop_signals_during_shutdown_are_harmless(self):
        s = Server({"session": {"close_grace_ms": 200}})
        clients = [s.connect() for _ in range(20)]
        for c in clients:
            c.echo(b"x")
        for _ in range(5):  # the first starts the shutdown, the rest land during it
            s.proc.send_signal(signal.SIGTERM)
        self.assertEqual(s.stop(), 0)

    def test_socket_buffers_are_set_on_the_listener_and_inherited(self):
        s = Server({"socket": {"sndbuf": 65536, "rcvbuf": 32768}})
        try:
            line = s.events("listening")[0]
            # Linux doubles what it is given; the server logs what is in force.
            self.assertEqual(int(line["sndbuf"]), 131072)
            self.assertEqual(int(line["rcvbuf"]), 65536)
            c = s.connect()
            c.echo(b"x")
            out = subprocess.run(["ss", "-tmnH", "state", "established", "sport", "=", f":{s.port}"],
                                 capture_output=True, text=True).stdout
            self.assertIn("tb131072", out)
            self.assertIn("rb65536", out)
        finally:
            self.assertEqual(s.stop(), 0)

    def test_backend_asked_for_is_the_one_running(self):
        s = Server(backend=BACKEND)
        try:
            self.assertEqual(s.events("start")[0]["backend"], BACKEND)
        finally:
            self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    main()

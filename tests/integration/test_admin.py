"""The admin endpoint (metrics, sessions, kick, ban, health, the bearer token) and SIGHUP."""
import json
import signal
import struct

from gskel_harness import STOP_SIGNAL, Server, ServerTestCase, main, metric, wait_until

REQUIRED_METRICS = ["gskel_connections_accepted_total", "gskel_sessions_active", "gskel_disconnects_total",
                    "gskel_bytes_received_total", "gskel_bytes_sent_total", "gskel_frames_received_total",
                    "gskel_send_calls_total", "gskel_socket_sndbuf_bytes", "gskel_socket_rcvbuf_bytes",
                    "gskel_backend_info"]


class AdminTest(ServerTestCase):
    def setUp(self):
        self.server = Server({"session": {"close_grace_ms": 300}}, admin=True)

    def test_healthz_says_ok(self):
        self.assertEqual(self.server.admin("GET", "/healthz"), (200, "ok\n"))

    def test_metrics_has_every_contracted_name(self):
        status, text = self.server.admin("GET", "/metrics")
        self.assertEqual(status, 200)
        for name in REQUIRED_METRICS:
            self.assertIn(name, text)
        self.assertIn(f'gskel_backend_info{{backend="{self.server.backend}"}} 1', text)

    def test_metrics_count_traffic_and_disconnect_reasons(self):
        c = self.server.connect()
        for _ in range(10):
            c.echo(b"0123456789")
        bad = self.server.connect()
        bad.send(struct.pack("<HH", 2, 0))
        self.assertEqual(bad.end_of_stream(), "rst")
        self.server.wait_for_log("disconnect", reason="bad_frame")
        _, text = self.server.admin("GET", "/metrics")
        self.assertEqual(metric(text, 'gskel_disconnects_total{reason="bad_frame"}'), 1)
        self.assertGreaterEqual(metric(text, "gskel_frames_received_total"), 10)
        self.assertGreaterEqual(metric(text, "gskel_bytes_sent_total"), 140)
        self.assertEqual(metric(text, "gskel_sessions_active"), 1)
        self.assertEqual(metric(text, "gskel_connections_accepted_total"), 2)

    def test_sessions_lists_each_live_session(self):
        a, b = self.server.connect(), self.server.connect()
        aid = a.login(b"alice")
        b.echo(b"x")
        status, body = self.server.admin("GET", "/sessions")
        self.assertEqual(status, 200)
        sessions = {s["id"]: s for s in json.loads(body)}
        self.assertEqual(len(sessions), 2)
        self.assertEqual(sessions[aid]["state"], "logged_in")
        self.assertTrue(sessions[aid]["peer"].startswith("127.0.0.1:"))

    def test_kick_sends_notice_then_client_close_is_fin(self):
        c = self.server.connect()
        sid = c.login()
        status, body = self.server.admin("POST", f"/kick?id={sid}&reason=kicked")
        self.assertEqual(status, 202, body)
        self.assertEqual(c.expect_kick(), ("kicked", "kicked by the server"))
        c.close()
        self.assertEqual(self.server.wait_for_log("disconnect", reason="kicked")["close"], "fin")

    def test_kick_in_abort_mode_resets(self):
        c = self.server.connect()
        sid = c.login()
        self.assertEqual(self.server.admin("POST", f"/kick?id={sid}&reason=cheat&mode=abort")[0], 202)
        self.assertEqual(c.end_of_stream(), "rst")
        self.server.wait_for_log("disconnect", reason="cheat")

    def test_kick_rejects_bad_requests(self):
        self.assertEqual(self.server.admin("POST", "/kick")[0], 400)
        self.assertEqual(self.server.admin("POST", "/kick?id=abc")[0], 400)
        self.assertEqual(self.server.admin("POST", "/kick?id=1&reason=nonsense")[0], 400)
        self.assertEqual(self.server.admin("POST", f"/kick?id={0xFFFFFF}")[0], 404)
        self.assertEqual(self.server.admin("GET", "/kick?id=1")[0], 405)
        self.assertEqual(self.server.admin("GET", "/nope")[0], 404)

    def test_ban_resets_held_and_new_connections_of_the_address(self):
        held = self.server.connect(source="127.0.0.6")
        held.echo(b"x")
        bystander = self.server.connect(source="127.0.0.1")
        status, body = self.server.admin("POST", "/ban?ip=127.0.0.6&seconds=60")
        self.assertEqual(status, 200, body)
        self.assertEqual(held.end_of_stream(), "rst")
        try:
            again = self.server.connect(source="127.0.0.6")
            self.assertEqual(again.end_of_stream(), "rst")
        except ConnectionResetError:
            pass
        self.assertEqual(bystander.echo(b"fine"), b"fine")
        self.assertEqual(self.server.admin("POST", "/ban?ip=127.0.0.6&seconds=0")[0], 200)
        self.assertEqual(self.server.connect(source="127.0.0.6").echo(b"back"), b"back")

    def test_ban_rejects_a_bad_address(self):
        self.assertEqual(self.server.admin("POST", "/ban?ip=999.1.1.1&seconds=5")[0], 400)

    def test_admin_port_keeps_no_time_wait(self):
        for _ in range(30):
            self.assertEqual(self.server.admin("GET", "/healthz")[0], 200)
        wait_until(lambda: self.server.admin_socket_states().get("ESTABLISHED", 0) == 0
                   and self.server.admin_socket_states().get("LAST_ACK", 0) == 0, "admin sockets to close")
        self.assertEqual(self.server.admin_socket_states().get("TIME_WAIT", 0), 0)


class AdminTokenTest(ServerTestCase):
    def setUp(self):
        self.server = Server({"admin": {"token": "s3cret"}}, admin=True)

    def test_request_without_the_token_is_refused(self):
        self.assertEqual(self.server.admin("GET", "/metrics")[0], 401)
        self.assertEqual(self.server.admin("POST", "/kick?id=1")[0], 401)

    def test_request_with_a_wrong_token_is_refused(self):
        self.assertEqual(self.server.admin("GET", "/metrics", token="s3cres")[0], 401)

    def test_request_with_the_token_is_served(self):
        self.assertEqual(self.server.admin("GET", "/metrics", token="s3cret")[0], 200)

    def test_healthz_needs_no_token(self):
        self.assertEqual(self.server.admin("GET", "/healthz")[0], 200)


class ReloadTest(ServerTestCase):
    def test_sighup_applies_a_changed_limit(self):
        for _ in range(3):
            self.server.connect(source="127.0.0.7").echo(b"x")
        cfg = dict(self.server.cfg)
        cfg["guard"] = dict(cfg.get("guard", {}), max_conns_per_ip=2)
        self.server.rewrite_config(cfg)
        self.server.proc.send_signal(signal.SIGHUP)
        line = self.server.wait_for_log("reload")
        self.assertIn("guard.max_conns_per_ip", line["changed"])
        held = [self.server.connect(source="127.0.0.8") for _ in range(2)]
        for c in held:
            c.echo(b"ok")
        try:
            third = self.server.connect(source="127.0.0.8")
            self.assertEqual(third.end_of_stream(), "rst")
        except ConnectionResetError:
            pass
        self.server.wait_for_log("refused", reason="ip_limit")

    def test_sighup_with_a_bad_file_keeps_the_running_config(self):
        self.server.rewrite_config('{"session": {"idle_timeout_ms": "soon"}}')
        self.server.proc.send_signal(signal.SIGHUP)
        line = self.server.wait_for_log("reload_rejected")
        self.assertIn("session.idle_timeout_ms", line["error"])
        self.assertEqual(self.server.connect().echo(struct.pack("<I", 7)), struct.pack("<I", 7))

    def test_sighup_reports_keys_that_need_a_restart(self):
        cfg = dict(self.server.cfg)
        cfg["workers"] = 3
        cfg["session"] = dict(cfg.get("session", {}), idle_timeout_ms=123456)
        self.server.rewrite_config(cfg)
        self.server.proc.send_signal(signal.SIGHUP)
        line = self.server.wait_for_log("reload")
        self.assertEqual(line["restart_needed"], "workers")
        self.assertEqual(line["changed"], "session.idle_timeout_ms")
        c = self.server.connect()
        self.assertEqual(c.echo(b"same workers"), b"same workers")



class DrainTest(ServerTestCase):
    """listen.drain_ms: /health turns 503 at the stop signal while the game port still serves."""

    def setUp(self):
        # Long enough that the checks below run inside it on a loaded machine; a second signal
        # ends it (tearDown's stop), so the test does not wait it out.
        self.server = Server({"listen": {"drain_ms": 60000}}, admin=True)

    def test_health_says_503_before_the_listener_closes(self):
        self.assertEqual(self.server.admin("GET", "/health"), (200, "ok\n"))
        player = self.server.connect()
        self.assertEqual(player.echo(b"before"), b"before")
        self.server.proc.send_signal(STOP_SIGNAL)
        self.server.wait_for_log("draining")
        self.assertEqual(self.server.admin("GET", "/health"), (503, "draining\n"))
        # Draining is not stopping: the listener accepts, sessions play on, nobody is kicked.
        late = self.server.connect()
        self.assertEqual(late.echo(b"late"), b"late")
        self.assertEqual(player.echo(b"still"), b"still")
        self.assertEqual(self.server.events("disconnect"), [])
        # The second signal stops at once: every session is kicked with notice.
        self.server.proc.send_signal(STOP_SIGNAL)
        self.assertEqual(player.expect_kick()[0], "shutdown")
        self.assertEqual(late.expect_kick()[0], "shutdown")
        player.close()
        late.close()


if __name__ == "__main__":
    main()

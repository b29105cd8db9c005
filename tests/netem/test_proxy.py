"""Faults no qdisc gives here, put on the stream by fault_proxy.py in the client namespace:
delay, 1-byte dribbling and stalls keep echo exact and abusers still get RST; a connection cut
mid-stream (RST or FIN) is seen by the server, which frees the session and keeps no socket."""
import os
import signal

from netns import NetemTestCase, main

# Frames of a fixed size put a fault at a known place: LOGIN "echo0" is 10 bytes, each ECHO of a
# 100-byte payload 104, so 580 bytes up is the middle of the sixth ECHO (MID_FRAME - 10 for the
# stream scenario, which sends no LOGIN).
FIXED = ("--min-payload", 100, "--max-payload", 100)
MID_FRAME = 10 + 5 * 104 + 50


class ProxyTestCase(NetemTestCase):
    overrides = {"session": {"login_timeout_ms": 0, "idle_timeout_ms": 0, "close_grace_ms": 2000},
                 "guard": {"partial_frame_timeout_ms": 10000}}

    def assert_echo_exact(self, r, conns, frames):
        self.assertEqual(r["errors"], [])
        self.assertEqual(r["answered"], conns * frames)
        self.assertEqual([c["after_last"] for c in r["conns"]], ["logout_ok"] * conns)
        self.server.wait_for_log("disconnect", count=conns, reason="logout")

    def assert_bad_frame_reset(self, proxy):
        r = self.client_via(proxy, "bad_frame")
        self.assertEqual(r["ends"], {"rst": 1}, r["conns"])
        self.assertEqual(self.server.wait_for_log("disconnect", reason="bad_frame")["close"], "rst")
        self.assertEqual([c["end"] for c in proxy.reports()], ["rst_from_server"])


class DelayTest(ProxyTestCase):
    def test_echo_through_a_delaying_link_is_exact(self):
        proxy = self.proxy("delay", "--delay-ms", 20, "--conns", 2)
        r = self.client_via(proxy, "echo", "--conns", 2, "--frames", 200, "--window", 8)
        self.assert_echo_exact(r, 2, 200)
        self.assertEqual([c["end"] for c in proxy.reports()], ["fin", "fin"])

    def test_bad_frame_through_a_delaying_link_is_reset(self):
        self.assert_bad_frame_reset(self.proxy("delay", "--delay-ms", 20, "--conns", 1))


class DribbleTest(ProxyTestCase):
    def test_echo_dribbled_one_byte_at_a_time_is_exact(self):
        proxy = self.proxy("dribble", "--conns", 1)
        r = self.client_via(proxy, "echo", "--frames", 60, "--window", 4, "--max-payload", 40)
        self.assert_echo_exact(r, 1, 60)
        (report,) = proxy.reports()
        self.assertEqual(report["up"]["sends"], report["up"]["bytes"], "not dribbled: " + str(report))

    def test_bad_frame_dribbled_is_reset(self):
        self.assert_bad_frame_reset(self.proxy("dribble", "--conns", 1))


class StallTest(ProxyTestCase):
    def test_echo_stalled_mid_frame_is_exact(self):
        proxy = self.proxy("stall", "--dir", "up", "--after", MID_FRAME, "--stall-ms", 1500, "--conns", 1)
        r = self.client_via(proxy, "echo", "--frames", 20, "--window", 20, *FIXED)
        self.assert_echo_exact(r, 1, 20)
        (report,) = proxy.reports()
        self.assertTrue(report["up"]["stalled"], report)

    def test_bad_frame_after_a_stall_is_reset(self):
        self.assert_bad_frame_reset(self.proxy("stall", "--after", 2, "--stall-ms", 500, "--conns", 1))


class LongStallTest(ProxyTestCase):
    overrides = {"session": {"login_timeout_ms": 0, "idle_timeout_ms": 0},
                 "guard": {"partial_frame_timeout_ms": 300}}

    def test_stall_mid_frame_past_the_partial_frame_timeout_is_reset_as_slow_sender(self):
        proxy = self.proxy("stall", "--dir", "up", "--after", MID_FRAME - 10, "--stall-ms", 3000, "--conns", 1)
        r = self.client_via(proxy, "stream", "--frames", 20, *FIXED)
        self.assertEqual(r["end"], "rst")
        self.assertEqual(self.server.wait_for_log("disconnect", reason="slow_sender")["close"], "rst")
        self.assertEqual([c["end"] for c in proxy.reports()], ["rst_from_server"])
        self.wait_sessions_gone()


class CutTest(ProxyTestCase):
    def cut(self, how, after, *stream_args):
        proxy = self.proxy("cut", "--after", after, "--cut-how", how, "--conns", 1)
        r = self.client_via(proxy, "stream", *stream_args)
        self.assertEqual(r["end"], "rst", "the proxy resets the client side in either case")
        return proxy.reports()[0]

    def assert_freed(self):
        """One disconnect logged, and nothing of the connection left in the server's kernel."""
        self.server.wait_for_log("disconnect")
        self.wait_sessions_gone()
        self.assert_no_wait_states()
        self.assertEqual(len(self.server.events("disconnect")), 1)

    def test_cut_by_reset_mid_frame_frees_the_session(self):
        report = self.cut("rst", MID_FRAME - 10, "--frames", 200, *FIXED)
        self.assertEqual(report["end"], "cut_rst")
        self.assert_freed()

    def test_cut_by_fin_mid_frame_frees_the_session(self):
        report = self.cut("fin", MID_FRAME - 10, "--frames", 200, *FIXED)
        self.assertEqual(report["end"], "cut_fin", "the server answers the FIN with its own")
        self.assertEqual(self.server.wait_for_log("disconnect", reason="client_close")["close"], "fin")
        self.assert_freed()

    def test_cut_while_the_server_is_sending_frees_the_session(self):
        # 8 KiB frames, 4 unanswered at most: at the cut (100 000 bytes up) replies are on their
        # way down, and the server learns of the RST on a send or a receive, whichever comes first.
        report = self.cut("rst", 100000, "--frames", 200, "--window", 4, "--min-payload", 8000, "--max-payload", 8000)
        self.assertEqual(report["end"], "cut_rst")
        self.assertGreater(report["down"]["bytes"], 0)
        self.assert_freed()

    def test_reset_that_arrives_with_the_data_is_logged_as_a_reset(self):
        # The server is stopped while the frames and the RST reach its kernel together, so it
        # reads them at once, has replies to send, and meets the reset first on that send: the
        # log must still say the peer reset (io_error, close=rst), not that it said goodbye.
        os.kill(self.server.proc.pid, signal.SIGSTOP)
        self.addCleanup(self.server.proc.send_signal, signal.SIGCONT)  # a no-op once it has exited
        report = self.cut("rst", MID_FRAME - 10, "--frames", 200, *FIXED)
        self.assertEqual(report["end"], "cut_rst")
        os.kill(self.server.proc.pid, signal.SIGCONT)
        line = self.server.wait_for_log("disconnect")
        self.assertEqual((line["reason"], line["close"]), ("io_error", "rst"), line)
        self.assert_freed()


if __name__ == "__main__":
    main()

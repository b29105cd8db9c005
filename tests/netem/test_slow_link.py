"""A slow link (tc tbf at 1 Mbit/s on the server's side of the veth): a client that stops reading
is still reset as a slow reader, and one that keeps up at link speed is served, not mistaken for
one."""
from netns import NetemTestCase, main

RATE = "1mbit"


class SlowLinkTest(NetemTestCase):
    overrides = {"session": {"login_timeout_ms": 0, "idle_timeout_ms": 0}}

    def setUp(self):
        super().setUp()
        self.net.add_slow_link(RATE)

    def test_client_that_stops_reading_on_a_slow_link_is_reset_as_slow_reader(self):
        r = self.client("slow_reader", "--conns", 4)
        self.assertEqual(r["ends"], {"rst": 4}, r["conns"])
        self.server.wait_for_log("disconnect", count=4, reason="slow_reader")
        self.assertEqual({e["close"] for e in self.server.events("disconnect", reason="slow_reader")}, {"rst"})
        self.wait_sessions_gone()
        self.assert_no_wait_states()

    def test_reader_keeping_up_with_a_slow_link_is_served_exactly(self):
        # 64 frames of 4 KiB, at most 8 unanswered: 256 KiB through the 1 Mbit/s bucket (about
        # two seconds) with the server's send queue never above 32 KiB, well under its limit.
        r = self.client("echo", "--frames", 64, "--window", 8, "--min-payload", 4096, "--max-payload", 4096)
        self.assertEqual(r["errors"], [])
        self.assertEqual(r["answered"], 64)
        self.assertGreater(self.net.slow_link_sent_bytes(), 64 * 4096, "the replies did not cross the slow link")
        self.assertEqual(self.server.events("disconnect", reason="slow_reader"), [])
        self.server.wait_for_log("disconnect", reason="logout")


if __name__ == "__main__":
    main()

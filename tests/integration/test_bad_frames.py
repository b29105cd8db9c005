"""Protocol violations: the offender is reset (RST, never FIN), the reason is counted and logged,
and a well-behaved client connected alongside keeps being served."""
import struct

from gskel_harness import OP_ECHO, OP_LOGOUT, OP_PING, ServerTestCase, frame, main


class BadFrameTest(ServerTestCase):
    overrides = {"session": {"max_frame_bytes": 1024, "send_chunk_bytes": 4096}}

    def assert_reset_with_reason(self, data, reason, nth=1):
        bystander = self.server.connect()
        self.assertEqual(bystander.echo(b"before"), b"before")
        bad = self.server.connect()
        bad.send(data)
        self.assertEqual(bad.end_of_stream(), "rst")
        line = self.server.wait_for_log("disconnect", count=nth, reason=reason)
        self.assertEqual(line["close"], "rst")
        self.assertEqual(bystander.echo(b"after"), b"after")

    def test_length_below_header_size_is_reset(self):
        self.assert_reset_with_reason(struct.pack("<HH", 3, OP_ECHO), "bad_frame")

    def test_length_zero_is_reset(self):
        self.assert_reset_with_reason(struct.pack("<HH", 0, OP_ECHO), "bad_frame")

    def test_length_above_max_frame_bytes_is_reset_before_the_body_arrives(self):
        # Only the header is sent: the server must not wait for 1025 bytes.
        self.assert_reset_with_reason(struct.pack("<HH", 1025, OP_ECHO), "bad_frame")

    def test_unknown_skeleton_op_is_reset(self):
        self.assert_reset_with_reason(frame(0x00FF, b"?"), "bad_opcode")

    def test_game_op_with_no_handler_is_reset(self):
        self.assert_reset_with_reason(frame(0x7ABC), "bad_opcode")

    def test_op_beyond_the_table_is_reset(self):
        self.assert_reset_with_reason(frame(0xFFFF), "bad_opcode")

    def test_ping_with_a_short_payload_is_reset(self):
        self.assert_reset_with_reason(frame(OP_PING, b"1234"), "bad_payload")

    def test_logout_before_login_is_reset(self):
        self.assert_reset_with_reason(frame(OP_LOGOUT), "bad_state")

    def test_bad_frame_after_good_ones_still_answers_the_good_ones_first(self):
        c = self.server.connect()
        c.send(frame(OP_ECHO, b"one") + frame(OP_ECHO, b"two") + struct.pack("<HH", 2, 0))
        # The abort drops the queue: the replies may or may not have left, but the end is RST.
        self.assertEqual(c.end_of_stream(), "rst")
        for op, payload in c.trailing:
            self.assertEqual(op, OP_ECHO)
            self.assertIn(payload, (b"one", b"two"))
        self.server.wait_for_log("disconnect", reason="bad_frame")

    def test_each_kind_of_violation_is_counted_once(self):
        cases = [(struct.pack("<HH", 1, 1), "bad_frame"), (frame(0x0042), "bad_opcode"),
                 (frame(OP_LOGOUT), "bad_state")]
        for data, _ in cases:
            c = self.server.connect()
            c.send(data)
            self.assertEqual(c.end_of_stream(), "rst")
        for _, reason in cases:
            self.server.wait_for_log("disconnect", reason=reason)
            self.assertEqual(len(self.server.events("disconnect", reason=reason)), 1)


if __name__ == "__main__":
    main()

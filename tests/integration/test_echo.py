"""ECHO and PING through the real server, with the byte stream split every way TCP may split it."""
import struct
import time

from gskel_harness import OP_ECHO, OP_PING, OP_PONG, ServerTestCase, frame, main


class EchoTest(ServerTestCase):
    def test_echo_returns_the_same_payload(self):
        c = self.server.connect()
        self.assertEqual(c.echo(b"hello gskel"), b"hello gskel")

    def test_echo_of_an_empty_payload(self):
        c = self.server.connect()
        self.assertEqual(c.echo(b""), b"")

    def test_echo_of_a_max_size_frame(self):
        c = self.server.connect()
        payload = bytes(range(256)) * 31 + bytes(8192 - 4 - 256 * 31)  # default max_frame_bytes 8192
        self.assertEqual(len(payload) + 4, 8192)
        self.assertEqual(c.echo(payload), payload)

    def test_pipelined_frames_in_one_write_are_answered_in_order(self):
        c = self.server.connect()
        payloads = [struct.pack("<I", i) * (i % 7) for i in range(500)]
        c.send(b"".join(frame(OP_ECHO, p) for p in payloads))
        for p in payloads:
            self.assertEqual(c.expect_frame(OP_ECHO), p)

    def test_frame_sent_one_byte_at_a_time_is_reassembled(self):
        c = self.server.connect()
        data = frame(OP_ECHO, b"dribbled") + frame(OP_ECHO, b"x" * 300)
        for i in range(len(data)):
            c.send(data[i:i + 1])
            if i < 40:
                time.sleep(0.002)  # separate segments on the wire for the header and first bytes
        self.assertEqual(c.expect_frame(OP_ECHO), b"dribbled")
        self.assertEqual(c.expect_frame(OP_ECHO), b"x" * 300)

    def test_frames_split_at_every_offset_across_writes(self):
        c = self.server.connect()
        data = frame(OP_ECHO, b"abc") + frame(OP_ECHO, b"") + frame(OP_ECHO, b"0123456789")
        for cut in range(1, len(data)):
            c.send(data[:cut])
            time.sleep(0.001)
            c.send(data[cut:])
            self.assertEqual(c.expect_frame(OP_ECHO), b"abc")
            self.assertEqual(c.expect_frame(OP_ECHO), b"")
            self.assertEqual(c.expect_frame(OP_ECHO), b"0123456789")

    def test_many_clients_are_served_at_once(self):
        clients = [self.server.connect() for _ in range(200)]
        for i, c in enumerate(clients):
            c.send_frame(OP_ECHO, str(i).encode())
        for i, c in enumerate(clients):
            self.assertEqual(c.expect_frame(OP_ECHO), str(i).encode())

    def test_ping_returns_client_time_and_server_wall_clock(self):
        c = self.server.connect()
        c.send_frame(OP_PING, struct.pack("<Q", 0x1122334455667788))
        client_time, server_us = struct.unpack("<QQ", c.expect_frame(OP_PONG))
        self.assertEqual(client_time, 0x1122334455667788)
        # Sanity, not speed: the server's clock is the wall clock in microseconds.
        self.assertLess(abs(server_us / 1e6 - time.time()), 300)

    def test_client_close_leaves_no_close_wait_on_the_server(self):
        c = self.server.connect()
        c.echo(b"bye")
        c.close()
        self.server.wait_for_log("disconnect", reason="client_close", close="fin")


if __name__ == "__main__":
    main()

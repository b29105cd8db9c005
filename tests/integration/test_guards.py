"""Guards: each abuse gets RST with its reason counted, while a well-behaved client connected
alongside (from another address where the guard is per address) is served without a hitch."""
import socket
import struct
import time

from gskel_harness import OP_ECHO, ServerTestCase, frame, main, wait_until


class GuardTestCase(ServerTestCase):
    def assert_served(self, client, tag=b"ok"):
        self.assertEqual(client.echo(tag), tag)

    def assert_reset(self, client):
        self.assertEqual(client.end_of_stream(), "rst")

    def assert_refused_at_accept(self, source):
        """Reset before any byte: on loopback the RST can even beat connect()'s return."""
        try:
            c = self.server.connect(source=source)
        except ConnectionResetError:
            return
        self.assert_reset(c)
        self.assertEqual(c.trailing, [])


class RateGuardTest(GuardTestCase):
    overrides = {"guard": {"max_packets_per_sec": 50, "packets_burst": 50,
                           "max_bytes_per_sec": 20000, "bytes_burst": 20000, "autoban_kicks": 0}}

    def test_packet_flood_is_reset(self):
        bystander = self.server.connect()
        flooder = self.server.connect()
        flooder.send(frame(OP_ECHO, b"f") * 200)
        self.assert_reset(flooder)
        self.server.wait_for_log("disconnect", reason="flood")
        self.assert_served(bystander)

    def test_byte_flood_is_reset(self):
        bystander = self.server.connect()
        flooder = self.server.connect()
        try:
            for _ in range(40):
                flooder.send(frame(OP_ECHO, b"b" * 4000))
            self.assert_reset(flooder)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the RST surfaced on a send: the error is consumed there, later reads see EOF
        self.server.wait_for_log("disconnect", reason="flood")
        self.assert_served(bystander)

    def test_traffic_within_the_rate_is_served(self):
        c = self.server.connect()
        for i in range(40):  # within the 50-packet burst
            self.assertEqual(c.echo(struct.pack("<I", i)), struct.pack("<I", i))
        self.assertEqual(self.server.events("disconnect", reason="flood"), [])


class SlowSenderTest(GuardTestCase):
    overrides = {"guard": {"partial_frame_timeout_ms": 300}, "session": {"login_timeout_ms": 0}}

    def test_frame_left_unfinished_is_reset(self):
        bystander = self.server.connect()
        dribbler = self.server.connect()
        dribbler.send(struct.pack("<HH", 100, OP_ECHO) + b"0123456789")  # 14 of 100 bytes
        self.assert_reset(dribbler)
        self.assertEqual(self.server.wait_for_log("disconnect", reason="slow_sender")["close"], "rst")
        self.assert_served(bystander)

    def test_frame_finished_in_time_is_served(self):
        c = self.server.connect()
        data = frame(OP_ECHO, b"x" * 50)
        c.send(data[:10])
        time.sleep(0.05)
        c.send(data[10:])
        self.assertEqual(c.expect_frame(OP_ECHO), b"x" * 50)


class AddressLimitTest(GuardTestCase):
    overrides = {"guard": {"max_conns_per_ip": 5, "autoban_kicks": 0}}

    def test_connections_past_the_per_address_limit_are_reset_at_accept(self):
        held = [self.server.connect(source="127.0.0.2") for _ in range(5)]
        for c in held:
            self.assert_served(c)
        self.assert_refused_at_accept("127.0.0.2")
        other_address = self.server.connect(source="127.0.0.1")
        self.assert_served(other_address)

    def test_a_freed_place_is_given_to_the_next_connection(self):
        held = [self.server.connect(source="127.0.0.3") for _ in range(5)]
        for c in held:
            self.assert_served(c)
        held.pop().close()
        self.server.wait_for_log("disconnect", reason="client_close")
        again = self.server.connect(source="127.0.0.3")
        self.assert_served(again)


class AutobanTest(GuardTestCase):
    overrides = {"guard": {"autoban_kicks": 3, "autoban_window_s": 60, "ban_seconds": 1}}

    def test_repeat_offender_is_banned_then_let_back_in(self):
        for _ in range(3):
            cheater = self.server.connect(source="127.0.0.4")
            cheater.send(struct.pack("<HH", 2, 0))
            self.assert_reset(cheater)
        self.server.wait_for_log("banned", ip="127.0.0.4")
        self.assert_refused_at_accept("127.0.0.4")
        self.assert_served(self.server.connect(source="127.0.0.1"))

        def admitted():
            try:
                c = self.server.connect(source="127.0.0.4")
                try:
                    return c.echo(b"back") == b"back"
                finally:
                    c.close()
            except (ConnectionResetError, EOFError):
                return False
        wait_until(admitted, "the 1 s ban to expire")

    def test_kicks_that_are_not_abuse_do_not_ban(self):
        for _ in range(5):
            c = self.server.connect(source="127.0.0.5")
            c.echo(b"x")
            c.close()
        self.server.wait_for_log("disconnect", count=5, reason="client_close")
        self.assert_served(self.server.connect(source="127.0.0.5"))
        self.assertEqual(self.server.events("banned"), [])


class UnloggedSlotTest(GuardTestCase):
    overrides = {"session": {"login_timeout_ms": 300}, "guard": {"autoban_kicks": 0}}

    def test_slowloris_sockets_hold_no_slot_for_long(self):
        sockets = []
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", self.server.port))
            s.send(b"\x08")  # one byte of a header, then nothing
            sockets.append(s)
        self.server.wait_for_log("disconnect", count=100, reason="login_timeout")
        for s in sockets:
            s.close()
        self.assert_served(self.server.connect())


if __name__ == "__main__":
    main()

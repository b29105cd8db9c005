"""LOGIN / LOGOUT through the real server: ids, states, and the client closing first."""
import struct

from gskel_harness import OP_ECHO, OP_LOGIN, OP_LOGOUT, OP_LOGOUT_OK, ServerTestCase, frame, main


class LoginTest(ServerTestCase):
    def test_login_returns_a_session_id(self):
        a, b = self.server.connect(), self.server.connect()
        self.assertNotEqual(a.login(b"alice"), b.login(b"bob"))

    def test_session_ids_change_generation_when_a_slot_is_reused(self):
        server = self.server
        seen = set()
        for _ in range(5):
            c = server.connect()
            seen.add(c.login())
            c.close()
            server.wait_for_log("disconnect", count=len(seen), reason="client_close")
        self.assertEqual(len(seen), 5)

    def test_second_login_is_reset_as_bad_state(self):
        c = self.server.connect()
        c.login()
        c.send_frame(OP_LOGIN, b"\x01x")
        self.assertEqual(c.end_of_stream(), "rst")
        self.server.wait_for_log("disconnect", reason="bad_state")

    def test_login_with_an_overlong_name_field_is_reset(self):
        c = self.server.connect()
        c.send_frame(OP_LOGIN, b"\x09short")  # says 9 bytes, carries 5
        self.assertEqual(c.end_of_stream(), "rst")
        self.server.wait_for_log("disconnect", reason="bad_payload")

    def test_logout_answers_then_waits_for_the_client_to_close_first(self):
        c = self.server.connect()
        c.login()
        c.send(frame(OP_LOGOUT) + frame(OP_ECHO, b"ignored after logout"))
        self.assertEqual(c.recv_frame(), (OP_LOGOUT_OK, b""))
        # The server sends no FIN of its own: the connection stays open until the client closes.
        c.sock.settimeout(0.3)
        with self.assertRaises(TimeoutError):
            c.sock.recv(1)
        c.close()
        line = self.server.wait_for_log("disconnect", reason="logout")
        self.assertEqual(line["close"], "fin")

    def test_login_ok_carries_the_id_the_server_logs(self):
        c = self.server.connect()
        c.send_frame(OP_LOGIN, b"\x03bob")
        op, payload = c.recv_frame()
        self.assertEqual(op, 0x0011)
        self.assertEqual(len(payload), 4)
        c.close()
        line = self.server.wait_for_log("disconnect", reason="client_close")
        self.assertEqual(int(line["session"]), struct.unpack("<I", payload)[0])


if __name__ == "__main__":
    main()

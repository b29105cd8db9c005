"""Reconnect with resume through the real server (docs/protocol.md, "Resume"): a client that
dropped comes back within session.resume_window_ms with the same session id, the game sees no
leave or join, and every server frame after the last one it had is replayed once, in order (and
it sends again what the server says it did not take). Refused: after the window (KICK
resume_refused), with a wrong token (RST bad_ticket), past the replay buffer (resume_overflow)."""
import struct
import time

from gskel_harness import (OP_ECHO, OP_LOGOUT, OP_LOGOUT_OK, OP_RESUME, OP_RESUME_OK, ResumableClient,
                           ServerTestCase, frame, main)


def echo_payload(i):
    return b"echo-%06d" % i


class ResumeTestCase(ServerTestCase):
    overrides = {"session": {"close_grace_ms": 300, "resume_window_ms": 5000}, "game": {"zone_enabled": False}}

    def echo_exactly(self, rc, first, last):
        """Reads ECHO replies first..last-1, skipping nothing and duplicating nothing."""
        for i in range(first, last):
            op, payload = rc.recv_frame()
            self.assertEqual((op, payload), (OP_ECHO, echo_payload(i)))


class ResumeTest(ResumeTestCase):
    def test_resume_after_a_reset_keeps_the_session_and_replays_what_was_not_read(self):
        rc = ResumableClient(self.server.port, b"dana")
        for i in range(10):
            rc.send_frame(OP_ECHO, echo_payload(i))
        self.echo_exactly(rc, 0, 10)
        for i in range(10, 40):  # answered by the server, never read by this connection
            rc.send_frame(OP_ECHO, echo_payload(i))
        time.sleep(0.2)
        rc.reset()
        self.server.wait_for_log("detached", session=str(rc.session))
        took = rc.reconnect()
        self.assertLessEqual(took, len(rc.sent))
        self.echo_exactly(rc, 10, 40)
        # Same session: the id still answers, nothing ended, the game saw no leave.
        rc.send_frame(OP_ECHO, echo_payload(40))
        self.echo_exactly(rc, 40, 41)
        self.server.wait_for_log("resumed", session=str(rc.session))
        self.assertEqual(self.server.events("disconnect", session=str(rc.session)), [])
        rc.c.send_frame(OP_LOGOUT)
        self.assertEqual(rc.c.recv_frame(), (OP_LOGOUT_OK, b""))
        rc.c.close()
        self.server.wait_for_log("disconnect", session=str(rc.session), reason="logout")

    def test_resume_while_the_old_connection_is_still_open_resets_the_old_one(self):
        rc = ResumableClient(self.server.port, b"erin")
        old = rc.c
        rc.send_frame(OP_ECHO, echo_payload(0))
        self.echo_exactly(rc, 0, 1)
        rc.reconnect()  # a phone on a new network; the old socket never said goodbye
        self.assertEqual(old.end_of_stream(), "rst")
        rc.send_frame(OP_ECHO, echo_payload(1))
        self.echo_exactly(rc, 1, 2)
        rc.c.close()

    def test_frames_sent_while_detached_are_delivered_after_resume(self):
        rc = ResumableClient(self.server.port, b"fay")
        # The client says the server has frames it never got: sent again after RESUME_OK.
        rc.sent.append((OP_ECHO, echo_payload(0)))
        rc.reset()
        self.server.wait_for_log("detached", session=str(rc.session))
        self.assertEqual(rc.reconnect(), 0)
        self.echo_exactly(rc, 0, 1)
        rc.c.close()

    def test_a_wrong_token_is_reset_as_bad_ticket(self):
        rc = ResumableClient(self.server.port, b"gus")
        rc.reset()
        self.server.wait_for_log("detached", session=str(rc.session))
        forged = bytes([rc.token[0] ^ 1]) + rc.token[1:]
        c = self.server.connect()
        c.send(frame(OP_RESUME, struct.pack("<I", rc.session) + forged + struct.pack("<Q", 0)))
        self.assertEqual(c.end_of_stream(), "rst")
        self.server.wait_for_log("disconnect", reason="bad_ticket")
        rc.reconnect()  # the real owner still can
        rc.c.close()

    def test_resume_is_refused_once_the_session_ended(self):
        rc = ResumableClient(self.server.port, b"hal")
        rc.c.send_frame(OP_LOGOUT)
        self.assertEqual(rc.c.recv_frame(), (OP_LOGOUT_OK, b""))
        rc.c.close()
        self.server.wait_for_log("disconnect", session=str(rc.session), reason="logout")
        c = self.server.connect()
        c.send(rc.resume_frame())
        self.assertEqual(c.expect_kick()[0], "resume_refused")
        c.close()

    def test_resume_only_before_login(self):
        rc = ResumableClient(self.server.port, b"ida")
        rc.c.send(rc.resume_frame())
        self.assertEqual(rc.c.end_of_stream(), "rst")
        self.server.wait_for_log("disconnect", reason="bad_state")

    def test_an_ack_beyond_what_was_sent_is_bad_payload(self):
        rc = ResumableClient(self.server.port, b"jon")
        rc.c.send_frame(0x0016, struct.pack("<Q", 5))
        self.assertEqual(rc.c.end_of_stream(), "rst")
        self.server.wait_for_log("disconnect", reason="bad_payload")


class ResumeWindowTest(ResumeTestCase):
    overrides = {"session": {"close_grace_ms": 300, "resume_window_ms": 300}}

    def test_resume_after_the_window_is_refused_and_the_session_ends_then(self):
        rc = ResumableClient(self.server.port, b"kim")
        rc.reset()
        self.server.wait_for_log("disconnect", session=str(rc.session), reason="io_error")
        c = self.server.connect()
        c.send(rc.resume_frame())
        self.assertEqual(c.expect_kick()[0], "resume_refused")
        c.close()


class ResumeOverflowTest(ResumeTestCase):
    overrides = {"session": {"close_grace_ms": 300, "resume_window_ms": 5000, "resume_buffer_bytes": 2048}}

    def test_frames_never_acknowledged_outgrow_the_buffer(self):
        rc = ResumableClient(self.server.port, b"lee", ack_every=0)
        for i in range(200):  # 200 x 14-byte replies: past 2,048 bytes unacknowledged
            rc.c.send_frame(OP_ECHO, echo_payload(i))
        reason = None
        for _ in range(400):
            op, payload = rc.c.recv_frame()
            if op == 0x0020:
                reason = struct.unpack("<H", payload[:2])[0]
                break
        self.assertEqual(reason, 24)  # resume_overflow
        rc.c.close()
        self.server.wait_for_log("disconnect", reason="resume_overflow")

    def test_acknowledged_frames_are_forgotten(self):
        rc = ResumableClient(self.server.port, b"max", ack_every=8)
        for i in range(600):
            rc.send_frame(OP_ECHO, echo_payload(i))
            op, payload = rc.recv_frame()
            self.assertEqual((op, payload), (OP_ECHO, echo_payload(i)))
        rc.c.close()


class ResumeAcrossWorkersTest(ResumeTestCase):
    overrides = {"workers": 2, "session": {"close_grace_ms": 300, "resume_window_ms": 5000}}

    def test_resumes_land_on_either_worker_and_every_frame_arrives_once_in_order(self):
        # The listener of whichever worker takes the new connection hands it to the session's
        # owner; twelve reconnects land on both workers but for a chance of 1 in 2,048.
        rc = ResumableClient(self.server.port, b"ned", ack_every=4)
        sent = got = 0
        for round_ in range(12):
            for _ in range(25):
                rc.send_frame(OP_ECHO, echo_payload(sent))
                sent += 1
            for _ in range(10):
                self.assertEqual(rc.recv_frame(), (OP_ECHO, echo_payload(got)))
                got += 1
            rc.reset() if round_ % 2 else rc.c.close()  # a reset, or a FIN without LOGOUT
            rc.reconnect()
        while got < sent:
            self.assertEqual(rc.recv_frame(), (OP_ECHO, echo_payload(got)))
            got += 1
        self.server.wait_for_log("resumed", count=12, session=str(rc.session))
        self.assertEqual(self.server.events("disconnect", session=str(rc.session)), [])
        rc.c.close()


if __name__ == "__main__":
    main()

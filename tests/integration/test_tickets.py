"""Signed logins through the real server (auth.mode "ticket", docs/security.md): tickets made by
gskel-ticket are taken; forged, truncated and replayed ones are reset (bad_ticket); expired ones
and those of a key the server does not hold get KICK ticket_expired; SIGHUP reloads the key file
(rotation); a second LOGIN for an account kicks the first with logged_in_elsewhere, across workers,
and the game has the older player leave before the newer joins."""
import json
import os
import signal
import struct
import subprocess
import tempfile
import time

from gskel_harness import (OP_LOGIN, OP_LOGIN_OK, REASONS, SERVER, Server, ServerTestCase,
                           main, server_path, wait_until)

# The Linux gskel-ticket beside the server, or (a Windows build under Wine) the one named.
TICKET_TOOL = os.environ.get("GSKEL_TICKET") or os.path.join(os.path.dirname(SERVER), "gskel-ticket")
OP_SNAPSHOT = 0x0103


class Keys:
    """A secret and a public key file in a temporary directory, made with gskel-ticket."""

    def __init__(self, ids=(1,)):
        self.dir = tempfile.TemporaryDirectory(prefix="gskel-keys-")
        self.public = os.path.join(self.dir.name, "tickets.pub")
        self.secrets = {}
        for key_id in ids:
            self.add(key_id)

    def add(self, key_id, public=True):
        secret = os.path.join(self.dir.name, f"key{key_id}.key")
        pub = self.public if public else os.path.join(self.dir.name, f"key{key_id}.pub")
        tool("--new-key", str(key_id), "--key", secret, "--public", pub)
        self.secrets[key_id] = secret

    def ticket(self, key_id=1, account=7, name="alice", ttl=60, now=None):
        args = ["--key", self.secrets[key_id], "--account", str(account), "--name", name, "--ttl", str(ttl)]
        if now is not None:
            args += ["--now", str(now)]
        return bytes.fromhex(tool(*args).strip())


def tool(*args):
    r = subprocess.run([TICKET_TOOL, *args], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"gskel-ticket {' '.join(args)}: {r.returncode} {r.stderr}")
    return r.stdout


class TicketTestCase(ServerTestCase):
    workers = 1
    zone = False

    def setUp(self):
        self.keys = Keys()
        game = {"zone_enabled": True} if self.zone else {}
        self.server = Server({"auth": {"mode": "ticket", "key_file": server_path(self.keys.public)},
                              "workers": self.workers, "game": game}, admin=True)

    def tearDown(self):
        super().tearDown()
        self.keys.dir.cleanup()

    def login(self, ticket, client=None):
        c = client or self.server.connect()
        c.send_frame(OP_LOGIN, ticket)
        return c


class TicketLoginTest(TicketTestCase):
    def test_a_signed_ticket_logs_in_with_its_name(self):
        c = self.login(self.keys.ticket(account=12345, name="bob"))
        session = struct.unpack("<I", c.expect_frame(OP_LOGIN_OK))[0]
        self.assertEqual(c.echo(b"hi"), b"hi")
        # The operator's listing shows whose session it is.
        status, body = self.server.admin("GET", "/sessions")
        self.assertEqual(status, 200)
        listed = {s["id"]: s for s in json.loads(body)}
        self.assertEqual(listed[session]["account"], 12345)
        self.assertEqual(listed[session]["state"], "logged_in")

    def test_a_forged_ticket_is_reset_and_counted(self):
        good = self.keys.ticket()
        for where in (5, 13, 21, len(good) - 70, len(good) - 1):  # account, expiry, nonce, name, signature
            forged = bytearray(good)
            forged[where] ^= 0x01
            c = self.login(bytes(forged))
            self.assertEqual(c.end_of_stream(), "rst", f"byte {where} changed")
        self.server.wait_for_log("disconnect", count=5, reason="bad_ticket")

    def test_truncated_and_malformed_tickets_are_reset(self):
        good = self.keys.ticket()
        cuts = [good[:1], good[:30], good[:len(good) - 1]]
        wrong_version = b"\x02" + good[1:]
        extra = good + b"\x01\x02"  # a flags byte is allowed, two trailing bytes are not
        for payload in cuts + [wrong_version, extra]:
            c = self.login(payload)
            self.assertEqual(c.end_of_stream(), "rst", payload[:8].hex())
        self.server.wait_for_log("disconnect", count=4, reason="bad_ticket")
        self.server.wait_for_log("disconnect", count=1, reason="bad_payload")

    def test_a_replayed_ticket_is_reset(self):
        t = self.keys.ticket()
        first = self.login(t)
        first.expect_frame(OP_LOGIN_OK)
        again = self.login(t)
        self.assertEqual(again.end_of_stream(), "rst")
        self.server.wait_for_log("disconnect", reason="bad_ticket")
        self.assertEqual(first.echo(b"still here"), b"still here")

    def test_an_expired_ticket_gets_a_notice_and_the_usual_close(self):
        c = self.login(self.keys.ticket(ttl=10, now=int(time.time()) - 60))
        reason, text = c.expect_kick()
        self.assertEqual(reason, "ticket_expired")
        c.close()  # the client closes first: no TIME_WAIT on the server (tearDown checks)
        self.server.wait_for_log("disconnect", reason="ticket_expired")

    def test_a_ticket_of_a_key_the_server_does_not_hold_gets_ticket_expired(self):
        self.keys.add(2, public=False)
        c = self.login(self.keys.ticket(key_id=2))
        self.assertEqual(c.expect_kick()[0], "ticket_expired")
        c.close()

    def test_sighup_rotates_keys(self):
        self.keys.add(2, public=False)
        with open(self.keys.public) as f:
            only_key1 = f.read()
        with open(os.path.join(self.keys.dir.name, "key2.pub")) as f:
            key2_line = f.read()
        c = self.login(self.keys.ticket(key_id=2))
        self.assertEqual(c.expect_kick()[0], "ticket_expired")
        c.close()
        # Rotation: key 2 added, SIGHUP; tickets of both are taken.
        with open(self.keys.public, "w") as f:
            f.write(only_key1 + key2_line)
        self.server.proc.send_signal(signal.SIGHUP)
        self.server.wait_for_log("keys_loaded", keys="2")
        self.login(self.keys.ticket(key_id=2, account=2)).expect_frame(OP_LOGIN_OK)
        self.login(self.keys.ticket(key_id=1, account=1)).expect_frame(OP_LOGIN_OK)
        # Key 1 retired: its tickets are refused, sessions already in stay.
        with open(self.keys.public, "w") as f:
            f.write(key2_line)
        self.server.proc.send_signal(signal.SIGHUP)
        self.server.wait_for_log("keys_loaded", keys="1")
        c = self.login(self.keys.ticket(key_id=1, account=3))
        self.assertEqual(c.expect_kick()[0], "ticket_expired")
        c.close()
        # A key file that does not parse leaves the keys in use.
        with open(self.keys.public, "w") as f:
            f.write("2 not-hex\n")
        self.server.proc.send_signal(signal.SIGHUP)
        self.server.wait_for_log("keys_rejected")
        self.login(self.keys.ticket(key_id=2, account=4)).expect_frame(OP_LOGIN_OK)


ISSUERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dist", "ticket-issuer")


class IssuerTest(TicketTestCase):
    """The Node and Python issuers of dist/ticket-issuer/ (what docs/security.md shows a studio's
    login backend) make the very bytes gskel-ticket makes, and the server takes them."""

    def issue(self, how, nonce, now):
        args = ["--key", self.keys.secrets[1], "--account", "31337", "--name", "zoë", "--ttl", "600",
                "--nonce", nonce, "--now", str(now)]
        cmd = {"gskel-ticket": [TICKET_TOOL], "node": ["node", os.path.join(ISSUERS, "sign_ticket.mjs")],
               "python": ["/usr/bin/python3", os.path.join(ISSUERS, "sign_ticket.py")]}[how]
        r = subprocess.run(cmd + args, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, f"{how}: {r.stderr}")
        return bytes.fromhex(r.stdout.strip())

    def test_node_and_python_backends_sign_the_same_bytes_and_the_server_takes_them(self):
        now = int(time.time())
        for i, how in enumerate(("node", "python")):
            nonce = f"{i:032x}"
            theirs = self.issue(how, nonce, now)
            self.assertEqual(theirs, self.issue("gskel-ticket", nonce, now), how)
            c = self.login(theirs)
            c.expect_frame(OP_LOGIN_OK)
            c.close()


class DuplicateLoginTest(TicketTestCase):
    workers = 2
    zone = True

    def test_a_second_login_kicks_the_first_and_the_game_sees_leave_then_join(self):
        self.take_over_repeatedly(need_both_workers=False)

    def test_a_second_login_on_the_other_worker_kicks_the_first(self):
        self.take_over_repeatedly(need_both_workers=True)

    def take_over_repeatedly(self, need_both_workers):
        """Logs account 99 in again and again: each login kicks the one before (KICK
        logged_in_elsewhere), and its first snapshot has it first and the older player gone.
        need_both_workers: go on until logins have landed on both workers, and require it."""
        per_worker = 100000 // 2  # session.max_sessions split over the workers (docs/protocol.md)
        older = self.login(self.keys.ticket(account=99, name="carol"))
        older_id = struct.unpack("<I", older.expect_frame(OP_LOGIN_OK))[0]
        workers_seen = {(older_id & 0xFFFFFF) // per_worker}
        crossed = False
        for attempt in range(24):
            newer = self.login(self.keys.ticket(account=99, name="carol"))
            newer_id = struct.unpack("<I", newer.expect_frame(OP_LOGIN_OK))[0]
            # The older session is told, then goes (it closes first, as a client should).
            while True:
                op, payload = older.recv_frame()
                if op == 0x0020:
                    self.assertEqual(REASONS[struct.unpack("<H", payload[:2])[0]], "logged_in_elsewhere")
                    break
            older.close()
            # The newer player's first snapshot: itself first, and the older one already gone.
            snap = newer.expect_frame(OP_SNAPSHOT)
            count = struct.unpack("<H", snap[4:6])[0]
            ids = [struct.unpack("<I", snap[6 + 12 * i:10 + 12 * i])[0] for i in range(count)]
            self.assertEqual(ids[0], newer_id)
            self.assertNotIn(older_id, ids)
            # The game knows whose session it is (game_session_account / game_session_name).
            self.server.wait_for_log("zone_enter", session=str(newer_id), account="99", name="carol")
            crossed |= (newer_id & 0xFFFFFF) // per_worker not in workers_seen
            workers_seen.add((newer_id & 0xFFFFFF) // per_worker)
            older, older_id = newer, newer_id
            if attempt >= 3 and (crossed or not need_both_workers):
                break
        if need_both_workers:
            self.assertTrue(crossed, f"every login landed on worker(s) {workers_seen}")
        self.server.wait_for_log("disconnect", count=attempt + 1, reason="logged_in_elsewhere")
        older.close()


if __name__ == "__main__":
    main()

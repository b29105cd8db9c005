"""Several gskel instances as one game through a real redis-server (Debian's, started here on a
free loopback port; docs/scaling.md): a ban made on one instance (admin or autoban) resets the
address's live session on another, and an instance started later refuses it too; an account that
logs in on B is kicked from A with logged_in_elsewhere; a game message from a module on A (the
sample SHOUT) reaches a player on B, in order; redis-server killed mid-run and started again: the
instances keep serving, no tick stalls past one tick period (the tick histogram), what could not
be sent is counted, and bans and accounts reconcile when Redis is back. Label `cluster`; `make deps`
installs redis-server and libhiredis-dev. The Windows build has no Redis client: Wine skips the
cluster classes (the one-instance SHOUT test runs everywhere)."""
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import unittest

from gskel_harness import (OP_ECHO, OP_LOGIN, OP_LOGIN_OK, SERVER, SERVER_IS_WINDOWS, SERVER_PREFIX, Server, frame,
                           free_port, main, metric, server_path, stop_process, wait_until)
from test_tickets import Keys

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
OP_SHOUT, OP_SHOUT_MSG, OP_TELL, OP_TELL_MSG = 0x0120, 0x0121, 0x0122, 0x0123
TICK_HZ = 20
TICK_BOUND = "0.05"  # the histogram bucket at one tick period (1/TICK_HZ s)
PREFIX = "gskel-test:"
HAVE_CLUSTER = os.path.exists(REDIS_SERVER) and not SERVER_IS_WINDOWS
WHY_NOT = "redis-server is not installed (make deps installs it)" if not SERVER_IS_WINDOWS else \
    "the Windows build has no Redis client (hiredis): clusters run on the Linux build"


class Redis:
    """One redis-server on a loopback port, no persistence, in a temporary directory."""

    def __init__(self, port=None, password=None):
        self.port = port or free_port()
        self.password = password
        self.dir = tempfile.mkdtemp(prefix="gskel-redis-")
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "redis.log"), "a+")
        self.proc = subprocess.Popen([REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.dir,
                                      *(["--requirepass", self.password] if self.password else [])],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: self._ping(), "redis-server answering PING")

    def _ping(self):
        if self.proc.poll() is not None:
            self.log.seek(0)
            raise AssertionError("redis-server exited:\n" + self.log.read())
        try:
            return self.cli("PING") == "PONG"
        except subprocess.CalledProcessError:
            return False

    def cli(self, *args):
        auth = ["--no-auth-warning", "-a", self.password] if self.password else []
        r = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port), *auth, *args], capture_output=True,
                           text=True, timeout=20, check=True)
        return r.stdout.strip()

    def kill(self):
        """SIGKILL: no goodbye to its clients, and (no persistence) its keys are gone."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        stop_process(self.proc)
        if not self.log.closed:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def shout(c, text):
    c.send_frame(OP_SHOUT, bytes([len(text)]) + text)


def expect_shout(c):
    """Reads frames until a SHOUT_MSG; returns (name, text)."""
    while True:
        op, p = c.recv_frame()
        if op == OP_SHOUT_MSG:
            n = p[0]
            return p[1:1 + n], p[2 + n:2 + n + p[1 + n]]


def expect_shouts_from(c, name, count):
    """The next `count` SHOUT_MSG texts from `name`, skipping other frames and shouters."""
    texts = []
    while len(texts) < count:
        who, text = expect_shout(c)
        if who == name:
            texts.append(text)
    return texts


def ticket_login(server, ticket, source=None):
    c = server.connect(source=source)
    c.send_frame(OP_LOGIN, ticket)
    session = struct.unpack("<I", c.expect_frame(OP_LOGIN_OK))[0]
    return c, session


def slow_ticks(server):
    """Ticks that took longer than one tick period, from the histogram."""
    status, text = server.admin("GET", "/metrics")  # both from one reading: ticks go on between two
    return metric(text, "gskel_tick_seconds_count") - metric(text, f'gskel_tick_seconds_bucket{{le="{TICK_BOUND}"}}')


@unittest.skipUnless(HAVE_CLUSTER, WHY_NOT)
class ClusterTestCase(unittest.TestCase):
    """A redis-server and `instances` gskel instances sharing it (and one ticket key)."""
    instances = 2
    guard = {"autoban_kicks": 0}

    redis_password = None

    def setUp(self):
        self.redis = Redis(password=self.redis_password)
        self.keys = Keys()
        self.servers = []
        try:
            for i in range(self.instances):
                self.start_instance()
        except BaseException:
            self.tearDown()
            raise

    def start_instance(self, password_file=None, wait_up=True):
        name = "abcdefgh"[len(self.servers)]
        redis = {"address": f"127.0.0.1:{self.redis.port}", "instance_id": name, "key_prefix": PREFIX,
                 "account_ttl_ms": 3000}
        if password_file:
            redis["password_file"] = server_path(password_file)
        s = Server({"cluster": {"redis": redis},
                    "auth": {"mode": "ticket", "key_file": server_path(self.keys.public)},
                    "game": {"tick_hz": TICK_HZ}, "guard": self.guard}, admin=True)
        self.servers.append(s)
        if wait_up:
            s.wait_for_log("cluster_up")
        return s

    def tearDown(self):
        failures = []
        for s in self.servers:
            rc = s.stop()
            if rc != 0:
                failures.append(f"exit status {rc}\n" + "\n".join(s.lines[-20:]))
            states = s.socket_states()
            if states.get("TIME_WAIT", 0) or states.get("CLOSE_WAIT", 0):
                failures.append(f"sockets left on the server port: {states}")
        self.servers = []
        self.redis.stop()
        self.keys.dir.cleanup()
        self.assertEqual(failures, [])


class ClusterBanTest(ClusterTestCase):
    instances = 2

    def test_admin_ban_on_a_resets_the_player_on_b(self):
        a, b = self.servers
        victim, bystander = b.connect(source="127.0.0.5"), b.connect(source="127.0.0.6")
        self.assertEqual(victim.echo(b"x"), b"x")
        self.assertEqual(a.admin("POST", "/ban?ip=127.0.0.5&seconds=60")[0], 200)
        self.assertEqual(victim.end_of_stream(), "rst")
        victim.close()
        b.wait_for_log("disconnect", reason="banned")
        self.assertEqual(bystander.echo(b"still here"), b"still here")
        # B refuses the address from now on, and so does an instance that starts later.
        self.assertTrue(b.refuses("127.0.0.5"))
        self.assertEqual(self.redis.cli("GET", PREFIX + "ban:127.0.0.5"), "a")
        c = self.start_instance()
        wait_until(lambda: c.metric("gskel_cluster_bans_in_total") >= 1, "C loading the live ban")
        self.assertTrue(c.refuses("127.0.0.5"))
        fine = c.connect(source="127.0.0.6")
        self.assertEqual(fine.echo(b"ok"), b"ok")
        fine.close()
        self.assertEqual(b.metric("gskel_cluster_bans_in_total"), 1)
        self.assertEqual(a.metric("gskel_cluster_bans_in_total"), 0)  # its own ban does not come back
        # Lifted on A (seconds=0): lifted everywhere, and gone from Redis.
        self.assertEqual(a.admin("POST", "/ban?ip=127.0.0.5&seconds=0")[0], 200)
        wait_until(lambda: self.redis.cli("EXISTS", PREFIX + "ban:127.0.0.5") == "0", "the ban's key deleted")
        for s in (b, c):
            wait_until(lambda: s.metric("gskel_cluster_bans_in_total") >= 2, "the lift reaching the instance")
            welcome = s.connect(source="127.0.0.5")
            self.assertEqual(welcome.echo(b"back"), b"back")
            welcome.close()
        bystander.close()


class ClusterAutobanTest(ClusterTestCase):
    guard = {"autoban_kicks": 2, "autoban_window_s": 60, "ban_seconds": 60}

    def test_autoban_on_a_is_refused_on_b(self):
        a, b = self.servers
        watcher = b.connect(source="127.0.0.7")
        self.assertEqual(watcher.echo(b"x"), b"x")
        for _ in range(2):
            cheat = a.connect(source="127.0.0.7")
            cheat.send(frame(OP_ECHO, length=2))  # a length under the header's own: bad_frame, RST
            self.assertEqual(cheat.end_of_stream(), "rst")
            cheat.close()
        a.wait_for_log("banned", ip="127.0.0.7")
        self.assertEqual(watcher.end_of_stream(), "rst")
        watcher.close()
        self.assertTrue(b.refuses("127.0.0.7"))
        fine = b.connect(source="127.0.0.8")
        self.assertEqual(fine.echo(b"ok"), b"ok")
        fine.close()


class ClusterAccountTest(ClusterTestCase):
    def test_login_on_b_kicks_the_same_account_on_a(self):
        a, b = self.servers
        first, first_id = ticket_login(a, self.keys.ticket(account=4242, name="alice"))
        other, _ = ticket_login(a, self.keys.ticket(account=99, name="carol"))
        wait_until(lambda: self.redis.cli("GET", PREFIX + "acct:4242").startswith("a "), "A's claim in Redis")
        second, _ = ticket_login(b, self.keys.ticket(account=4242, name="alice"))
        self.assertEqual(first.expect_kick()[0], "logged_in_elsewhere")
        first.close()
        a.wait_for_log("disconnect", reason="logged_in_elsewhere", session=first_id)
        self.assertEqual(second.echo(b"mine now"), b"mine now")
        self.assertEqual(other.echo(b"untouched"), b"untouched")
        self.assertTrue(self.redis.cli("GET", PREFIX + "acct:4242").startswith("b "))
        self.assertEqual(a.metric("gskel_cluster_evictions_total"), 1)
        self.assertEqual(b.metric("gskel_cluster_evictions_total"), 0)
        wait_until(lambda: a.metric("gskel_accounts_online") == 1, "A holding carol only")
        # A's releasing its old session does not delete B's claim.
        self.assertTrue(self.redis.cli("GET", PREFIX + "acct:4242").startswith("b "))
        # The account goes back to A: B's session is the one kicked now.
        third, _ = ticket_login(a, self.keys.ticket(account=4242, name="alice"))
        self.assertEqual(second.expect_kick()[0], "logged_in_elsewhere")
        second.close()
        self.assertEqual(third.echo(b"back"), b"back")
        for c in (other, third):
            c.close()

    def test_logout_releases_the_account_key(self):
        a, _ = self.servers
        c, _ = ticket_login(a, self.keys.ticket(account=77, name="dave"))
        wait_until(lambda: self.redis.cli("GET", PREFIX + "acct:77").startswith("a "), "A's claim in Redis")
        c.close()
        wait_until(lambda: self.redis.cli("EXISTS", PREFIX + "acct:77") == "0", "the key deleted on the session's end")

    def test_the_refresh_takes_back_an_older_claim_and_yields_to_a_later_one(self):
        """What another instance wrote without a message reaching us (lost while our subscriber
        was away): the refresh (every account_ttl_ms / 3, 1 s here) settles it by the claims'
        order."""
        a, _ = self.servers
        older, _ = ticket_login(a, self.keys.ticket(account=91, name="old"))
        later, _ = ticket_login(a, self.keys.ticket(account=92, name="new"))
        wait_until(lambda: self.redis.cli("EXISTS", PREFIX + "acct:91", PREFIX + "acct:92") == "2", "both claims")
        self.redis.cli("SET", PREFIX + "acct:91", "z 1000", "PX", "60000")  # older than ours
        self.redis.cli("SET", PREFIX + "acct:92", "z 99999999999999", "PX", "60000")  # later than ours
        self.assertEqual(later.expect_kick()[0], "logged_in_elsewhere")
        later.close()
        wait_until(lambda: self.redis.cli("GET", PREFIX + "acct:91").startswith("a "), "A's claim taken back")
        self.assertEqual(self.redis.cli("GET", PREFIX + "acct:92"), "z 99999999999999")
        self.assertEqual(older.echo(b"still mine"), b"still mine")
        self.assertGreater(a.metric("gskel_cluster_refresh_seconds"), 0)
        older.close()

    def test_a_stopped_instance_frees_its_accounts_at_once(self):
        a, _ = self.servers
        players = [ticket_login(a, self.keys.ticket(account=account, name=f"p{account}"))[0] for account in (81, 82)]
        wait_until(lambda: self.redis.cli("EXISTS", PREFIX + "acct:81", PREFIX + "acct:82") == "2", "both claims")
        self.assertEqual(a.stop(), 0)
        self.servers.remove(a)
        # Not after account_ttl_ms (3 s here): the releases went out before the process ended.
        self.assertEqual(self.redis.cli("EXISTS", PREFIX + "acct:81", PREFIX + "acct:82"), "0")
        for p in players:
            p.close()


class ClusterMessageTest(ClusterTestCase):
    instances = 3

    def test_shout_on_a_reaches_players_on_b_and_c_in_order(self):
        a, b, c = self.servers
        shouter, _ = ticket_login(a, self.keys.ticket(account=1, name="ann"))
        listeners = [ticket_login(s, self.keys.ticket(account=2 + i, name=f"l{i}"))[0] for i, s in enumerate((b, c))]
        for i, l in enumerate(listeners):
            shout(l, b"here %d" % i)  # listening from now on; everyone gets it, the sender too
        for l in listeners:
            got = {expect_shout(l) for _ in listeners}
            self.assertEqual(got, {(b"l0", b"here 0"), (b"l1", b"here 1")})
        for n in range(20):
            shout(shouter, b"m%d" % n)
        sent = [b"m%d" % n for n in range(20)]
        # Each gets A's 20 in order, once; A's own listener from A (not again from Redis).
        for c in (shouter, *listeners):
            self.assertEqual(expect_shouts_from(c, b"ann", 20), sent)
            c.send_frame(OP_ECHO, b"fence")
            op, payload = c.recv_frame()
            while op == OP_SHOUT_MSG:
                self.assertNotEqual(payload[1:1 + payload[0]], b"ann", "a shout delivered twice")
                op, payload = c.recv_frame()
            self.assertEqual((op, payload), (OP_ECHO, b"fence"))
        self.assertEqual(b.metric("gskel_cluster_messages_in_total"), 21)  # l1's, then ann's 20
        for x in (shouter, *listeners):
            x.close()


    def test_tell_reaches_one_player_on_whichever_instance_holds_the_account(self):
        a, b, c = self.servers
        sender, _ = ticket_login(a, self.keys.ticket(account=500, name="sam"))
        target, _ = ticket_login(c, self.keys.ticket(account=501, name="tia"))
        bystander, _ = ticket_login(b, self.keys.ticket(account=502, name="bo"))
        sender.send_frame(OP_TELL, struct.pack("<Q", 501) + bytes([5]) + b"psst!")
        op, payload = target.recv_frame()
        self.assertEqual((op, payload), (OP_TELL_MSG, bytes([3]) + b"sam" + bytes([5]) + b"psst!"))
        # Nobody else got it: the bystander's and the sender's next frame is their echo.
        for x in (bystander, sender):
            self.assertEqual(x.echo(b"fence"), b"fence")
        # A TELL to an account that is nowhere is dropped everywhere; a malformed one is a kick.
        sender.send_frame(OP_TELL, struct.pack("<Q", 999) + bytes([2]) + b"hi")
        self.assertEqual(sender.echo(b"fence"), b"fence")
        sender.send_frame(OP_TELL, struct.pack("<Q", 501) + bytes([9]) + b"short")
        self.assertEqual(sender.end_of_stream(), "rst")
        a.wait_for_log("disconnect", reason="bad_payload")
        self.assertEqual(target.echo(b"fence"), b"fence")
        for x in (sender, target, bystander):
            x.close()


class ClusterOutageTest(ClusterTestCase):
    def test_redis_killed_and_restarted(self):
        a, b = self.servers
        pa, _ = ticket_login(a, self.keys.ticket(account=11, name="pa"))
        pb, _ = ticket_login(b, self.keys.ticket(account=12, name="pb"))
        wait_until(lambda: self.redis.cli("EXISTS", PREFIX + "acct:11", PREFIX + "acct:12") == "2", "both claims")
        slow_before = [slow_ticks(s) for s in self.servers]
        overruns_before = [s.metric("gskel_tick_overruns_total") for s in self.servers]
        ticks_before = a.metric("gskel_tick_seconds_count")

        self.redis.kill()
        for s in self.servers:
            s.wait_for_log("cluster_down")
            wait_until(lambda: s.metric("gskel_cluster_up") == 0, "cluster_up 0")
        # Each instance goes on serving its own players: echo, logins, bans, shouts.
        self.assertEqual(pa.echo(b"alone"), b"alone")
        self.assertEqual(pb.echo(b"alone"), b"alone")
        late, _ = ticket_login(a, self.keys.ticket(account=13, name="late"))
        victim = b.connect(source="127.0.0.9")
        self.assertEqual(victim.echo(b"v"), b"v")
        self.assertEqual(a.admin("POST", "/ban?ip=127.0.0.9&seconds=60")[0], 200)
        self.assertTrue(a.refuses("127.0.0.9"))
        shout(pa, b"nobody else")
        self.assertEqual(expect_shout(pa), (b"pa", b"nobody else"))
        wait_until(lambda: a.metric("gskel_cluster_send_failed_total") >= 3, "the ban, claim and shout counted unsent")
        # Ticks go on through the outage (reconnects are being tried meanwhile) without a stall.
        wait_until(lambda: a.metric("gskel_tick_seconds_count") >= ticks_before + 2 * TICK_HZ, "two seconds of ticks")
        self.assertEqual(victim.echo(b"not yet"), b"not yet")  # B has not heard of the ban

        self.redis.start()
        for s in self.servers:
            s.wait_for_log("cluster_up", count=2)
            self.assertEqual(s.metric("gskel_cluster_reconnects_total"), 1)
            self.assertEqual(s.metric("gskel_cluster_up"), 1)
        # Reconciled: A's ban made during the outage reaches B; the accounts are registered again.
        self.assertEqual(victim.end_of_stream(), "rst")
        victim.close()
        self.assertTrue(b.refuses("127.0.0.9"))
        for account, owner in ((11, "a "), (12, "b "), (13, "a ")):
            wait_until(lambda: self.redis.cli("GET", f"{PREFIX}acct:{account}").startswith(owner),
                       f"account {account} registered again")
        self.assertEqual(pa.echo(b"back"), b"back")
        self.assertEqual(pb.echo(b"back"), b"back")
        for s, slow, overruns in zip(self.servers, slow_before, overruns_before):
            self.assertEqual(slow_ticks(s), slow, "a tick took longer than one tick period")
            self.assertEqual(s.metric("gskel_tick_overruns_total"), overruns)
        for c in (pa, pb, late):
            c.close()

    def test_redis_stopped_slow_does_not_stall_a_tick(self):
        """A Redis that takes connections but answers nothing (SIGSTOP): the cluster thread's
        commands time out; the workers and the logic thread do not wait for them."""
        a, b = self.servers
        pa, _ = ticket_login(a, self.keys.ticket(account=21, name="qa"))
        slow_before = slow_ticks(a)
        ticks_before = a.metric("gskel_tick_seconds_count")
        self.redis.proc.send_signal(signal.SIGSTOP)
        try:
            for n in range(5):
                shout(pa, b"s%d" % n)
                self.assertEqual(expect_shout(pa), (b"qa", b"s%d" % n))
                ticket_login(a, self.keys.ticket(account=30 + n, name=f"x{n}"))[0].close()
                self.assertEqual(pa.echo(b"e%d" % n), b"e%d" % n)
            a.wait_for_log("cluster_down")
            wait_until(lambda: a.metric("gskel_tick_seconds_count") >= ticks_before + 2 * TICK_HZ, "two seconds of ticks")
            self.assertEqual(slow_ticks(a), slow_before, "a tick took longer than one tick period")
        finally:
            self.redis.proc.send_signal(signal.SIGCONT)
        # A gave up on the silent connection and comes back; B, which had nothing to send, may
        # never have noticed.
        a.wait_for_log("cluster_up", count=2)
        self.assertEqual(pa.echo(b"after"), b"after")
        pa.close()


class ClusterPasswordTest(ClusterTestCase):
    instances = 0
    redis_password = "s3cret-pass"

    def test_the_password_file_is_used_and_a_wrong_one_is_said(self):
        right = os.path.join(self.keys.dir.name, "redis.pass")
        wrong = os.path.join(self.keys.dir.name, "wrong.pass")
        with open(right, "w") as f:
            f.write(self.redis_password + "\n")
        with open(wrong, "w") as f:
            f.write("not-it\n")
        a = self.start_instance(password_file=right)
        b = self.start_instance(password_file=wrong, wait_up=False)
        down = b.wait_for_log("cluster_down")
        self.assertIn("AUTH", down["error"])
        self.assertEqual(b.metric("gskel_cluster_up"), 0)
        self.assertEqual(a.metric("gskel_cluster_up"), 1)
        # B serves its players meanwhile; and says it once, not on every retry (a second covers
        # the retries at 200 and 600 ms).
        player = b.connect()
        self.assertEqual(player.echo(b"alone"), b"alone")
        player.close()
        time.sleep(1.0)
        self.assertEqual(len(b.events("cluster_down")), 1)
        self.assertEqual(b.events("cluster_up"), [])


class ClusterConfigTest(unittest.TestCase):
    @unittest.skipIf(SERVER_IS_WINDOWS, "Wine writes lines of its own to stderr: the one-line rule is checked on Linux")
    def test_a_bad_cluster_config_is_one_line_and_exit_2(self):
        for redis, key in (({"address": "localhost", "instance_id": "a"}, "cluster.redis.address"),
                           ({"address": "127.0.0.1:0", "instance_id": "a"}, "cluster.redis.address"),
                           ({"address": "127.0.0.1:6379"}, "cluster.redis.instance_id"),
                           ({"address": "127.0.0.1:6379", "instance_id": "a b"}, "cluster.redis.instance_id"),
                           ({"queue_entries": 1000}, "cluster.redis.queue_entries")):
            fd, path = tempfile.mkstemp(prefix="gskel-cluster-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump({"auth": {"mode": "none"}, "cluster": {"redis": redis}}, f)
            try:
                r = subprocess.run([*SERVER_PREFIX, SERVER, "--config", server_path(path), "--check-config"],
                                   capture_output=True, text=True, timeout=60)
            finally:
                os.unlink(path)
            self.assertEqual(r.returncode, 2, r.stderr)
            lines = [line for line in r.stderr.splitlines() if line.strip()]
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(key, lines[0])

    @unittest.skipIf(SERVER_IS_WINDOWS, "Wine writes lines of its own to stderr: the one-line rule is checked on Linux")
    def test_an_unreadable_password_file_is_one_line_and_exit_2(self):
        fd, path = tempfile.mkstemp(prefix="gskel-cluster-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"auth": {"mode": "none"}, "admin": {"port": 0},
                       "cluster": {"redis": {"address": "127.0.0.1:1", "instance_id": "a",
                                             "password_file": "/nonexistent/redis.pass"}}}, f)
        try:
            r = subprocess.run([SERVER, "--config", path, "--port", "0"], capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(path)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertIn("/nonexistent/redis.pass: cannot read", r.stderr)
        self.assertIn("cluster.redis.password_file", r.stderr)

    @unittest.skipUnless(SERVER_IS_WINDOWS, "the Linux build has a Redis client")
    def test_the_windows_build_refuses_a_cluster_address(self):
        with self.assertRaises(AssertionError) as refused_start:
            Server({"cluster": {"redis": {"address": "127.0.0.1:6379", "instance_id": "a"}}})
        self.assertIn("this build has no Redis client", str(refused_start.exception))

    def test_without_redis_nothing_connects_and_shouts_stay_here(self):
        s = Server({"game": {"tick_hz": TICK_HZ}}, admin=True)
        try:
            one, two = s.connect(), s.connect()
            one.login(b"one")
            two.login(b"two")
            shout(two, b"listening")
            self.assertEqual(expect_shout(two), (b"two", b"listening"))
            shout(one, b"hello")
            self.assertEqual(expect_shout(two), (b"one", b"hello"))
            self.assertEqual(expect_shout(one), (b"one", b"hello"))
            self.assertEqual(s.events("cluster_up") + s.events("cluster_down"), [])
            status, text = s.admin("GET", "/metrics")
            self.assertNotIn("gskel_cluster_", text)
            one.close()
            two.close()
        finally:
            self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    main()

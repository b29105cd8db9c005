"""Test harness: start the real gskel-server on a free loopback port, speak its wire protocol
over TCP, and read the kernel's view of the server's sockets (/proc/net/tcp).

Python's standard library only. Tests get the binary and backend from the environment that CTest
sets (GSKEL_SERVER, GSKEL_BACKEND, and GSKEL_SERVER_PREFIX for a Windows build run under Wine)."""
import errno
import http.client
import json
import os
import random
import re
import shlex
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

SERVER = os.environ.get("GSKEL_SERVER", "build/bin/gskel-server")
BACKEND = os.environ.get("GSKEL_BACKEND", "epoll")
# A Windows build is driven from Linux through Wine (tests/wine/): GSKEL_SERVER_PREFIX="wine" runs
# the .exe with it. That server takes Windows paths, and Wine turns SIGINT into the Ctrl+C event
# the server stops on, while SIGTERM ends a Wine process without running any handler.
SERVER_PREFIX = shlex.split(os.environ.get("GSKEL_SERVER_PREFIX", ""))
SERVER_IS_WINDOWS = SERVER.lower().endswith(".exe")
STOP_SIGNAL = signal.SIGINT if SERVER_IS_WINDOWS else signal.SIGTERM
# Tests a platform cannot run, as "Class.test_name=why|Class.other=why" (tests/wine/ sets it for
# what Wine cannot do); they are reported as skipped with the reason, never silently dropped.
SKIP_TESTS = dict(item.partition("=")[::2] for item in os.environ.get("GSKEL_SKIP_TESTS", "").split("|") if item)


class _WindowsServerProcess(subprocess.Popen):
    """A Windows server has no SIGTERM; its stop request is the console's Ctrl+C, which Wine
    raises on SIGINT. Tests that send SIGTERM mean "stop", so that is what it becomes."""

    def send_signal(self, sig):
        super().send_signal(signal.SIGINT if sig == signal.SIGTERM else sig)

OP_ECHO, OP_PING, OP_PONG = 0x0001, 0x0002, 0x0003
OP_LOGIN, OP_LOGIN_OK, OP_LOGOUT, OP_LOGOUT_OK = 0x0010, 0x0011, 0x0012, 0x0013
OP_RESUME, OP_RESUME_OK, OP_ACK = 0x0014, 0x0015, 0x0016
LOGIN_FLAG_RESUME = 0x01
OP_KICK = 0x0020

# server/reason.h: the numbers KICK carries.
REASONS = ["none", "client_close", "logout", "bad_frame", "bad_opcode", "bad_state", "bad_payload",
           "flood", "slow_reader", "login_timeout", "idle_timeout", "banned", "kicked", "cheat",
           "shutdown", "io_error", "slow_sender", "ip_limit", "proxy_untrusted", "bad_proxy_header",
           "proxy_timeout", "bad_ticket", "ticket_expired", "logged_in_elsewhere", "resume_overflow",
           "resume_refused"]

# Deadlines for waiting on the server: generous, because they bound a hang, not a speed.
WAIT_S = 20.0

TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


def frame(op, payload=b"", length=None):
    """One wire frame; `length` overrides the header's length field (for bad frames)."""
    n = len(payload) + 4 if length is None else length
    return struct.pack("<HH", n, op) + payload


def server_path(path):
    """A file on this machine as the server names it: under Wine, drive Z: is the Linux root."""
    if SERVER_IS_WINDOWS and path.startswith("/"):
        return "Z:" + path.replace("/", "\\")
    return path


def parse_logfmt(line):
    """key=value / key="quoted" pairs of one logfmt line into a dict."""
    out = {}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        v = m.group(2)
        out[m.group(1)] = json.loads(v) if v.startswith('"') else v
    return out


class Server:
    """A gskel-server process with a config laid over the built-in defaults."""

    def __init__(self, overrides=None, args=(), backend=None, admin=False):
        """admin=True: the admin endpoint on a free loopback port (self.admin_port)."""
        self.backend = backend or BACKEND
        # A short close grace keeps stops quick: every session gets KICK, then this long to close.
        # Autoban is off: every test client is 127.0.0.1, and tests that misbehave on purpose
        # would ban the next test's clients (test_guards.py turns it on where it is the subject).
        # Logins are by name (auth.mode "none"): test_tickets.py is where tickets are the subject.
        cfg = {"listen": {"host": "127.0.0.1", "port": 0}, "workers": 1, "admin": {"port": 0},
               "log": {"level": "debug"}, "session": {"close_grace_ms": 300},
               "guard": {"autoban_kicks": 0}, "auth": {"mode": "none"}}
        for section, values in (overrides or {}).items():
            if isinstance(values, dict):
                cfg.setdefault(section, {}).update(values)
            else:
                cfg[section] = values
        self.admin_port = None
        # A port picked for the admin endpoint is free when picked, not when the server binds it:
        # another test may take it meanwhile. That failure (and only that one) gets another port.
        for attempt in range(3):
            if admin:
                self.admin_port = admin_port_candidate()
                cfg["admin"] = dict(cfg.get("admin", {}), port=self.admin_port, host="127.0.0.1")
            try:
                self._start(cfg, args)
                return
            except AssertionError:
                taken = any("admin endpoint: cannot listen" in line and "in use" in line for line in self.lines)
                if not (admin and taken and attempt < 2):
                    raise
                os.unlink(self.config_path)

    def _start(self, cfg, args):
        self.cfg = cfg
        fd, self.config_path = tempfile.mkstemp(prefix="gskel-test-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(cfg, f)
        self.lines = []
        self._cond = threading.Condition()
        popen = _WindowsServerProcess if SERVER_IS_WINDOWS else subprocess.Popen
        self.proc = popen(
            [*SERVER_PREFIX, SERVER, "--config", server_path(self.config_path), "--backend", self.backend, *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        try:
            start = self.wait_for_log("start")
            if self.backend != "auto" and start.get("backend") != self.backend:
                raise AssertionError(f"asked for backend {self.backend}, server runs {start.get('backend')}")
            self.port = int(self.wait_for_log("listening")["port"])
            if self.admin_port:
                self.wait_for_log("admin_listening")
                self.admin_foreign = {(loc, rem) for loc, rem, _ in sockets_on_port(self.admin_port)
                                      if not rem.endswith(":0000")}
            # Port 0 can hand the server an ephemeral port on which an earlier client socket still
            # sits in TIME_WAIT (SO_REUSEADDR allows the bind): those are not the server's.
            self.foreign = {(loc, rem) for loc, rem, _ in sockets_on_port(self.port)
                            if not rem.endswith(":0000")}
        except BaseException:
            # A server that failed its start-up checks must not outlive the test.
            self.proc.kill()
            self.proc.wait()
            raise

    def admin_socket_states(self):
        """TCP states of the admin endpoint's sockets (older sockets on a reused port left out)."""
        return socket_states_on_port(self.admin_port, ignore=self.admin_foreign, host="127.0.0.1")

    def _read_output(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def events(self, event, **match):
        """Every log line with event=EVENT whose fields equal `match`, parsed."""
        with self._cond:
            return self.events_locked(event, match)

    def wait_for_log(self, event, count=1, **match):
        """Waits until `count` lines of EVENT matching `match` were logged; returns the last."""
        deadline = time.monotonic() + WAIT_S
        with self._cond:
            while True:
                found = self.events_locked(event, match)
                if len(found) >= count:
                    return found[count - 1]
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"server exited ({self.proc.returncode}) before '{event}':\n"
                                         + "\n".join(self.lines[-30:]))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no '{event}' {match} x{count} in the server log:\n"
                                         + "\n".join(self.lines[-30:]))
                self._cond.wait(min(left, 0.5))

    def events_locked(self, event, match):
        out = []
        for line in self.lines:
            kv = parse_logfmt(line)
            if kv.get("event") == event and all(kv.get(k) == str(v) for k, v in match.items()):
                out.append(kv)
        return out

    def rewrite_config(self, text):
        """Replaces the config file the server was started with (for SIGHUP tests)."""
        with open(self.config_path, "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))

    def admin(self, method, path, token=None):
        """One admin request: (status, body text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=WAIT_S)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            conn.request(method, path, headers=headers)
            r = conn.getresponse()
            return r.status, r.read().decode()
        finally:
            conn.close()

    def metric(self, name):
        """One sample from the admin endpoint's /metrics."""
        status, text = self.admin("GET", "/metrics")
        if status != 200:
            raise AssertionError(f"/metrics answered {status}")
        return metric(text, name)

    def connect(self, source=None):
        return Client(self.port, source=source)

    def refuses(self, source=None):
        """Whether the server resets a new connection (from `source`) at once: a banned address,
        a full table. The reset can come before the client has set its socket up (seen as
        ECONNRESET from connect): that is the same answer."""
        try:
            c = self.connect(source=source)
        except ConnectionResetError:
            return True
        try:
            return c.end_of_stream() == "rst"
        finally:
            c.close()

    def stop(self, sig=None):
        """Stops the server (SIGTERM; SIGINT under Wine) and returns its exit status."""
        sig = sig or STOP_SIGNAL
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not stop within %ss of %s" % (WAIT_S, sig))
        self._reader.join(timeout=WAIT_S)
        if not self.proc.stdout.closed:
            self.proc.stdout.close()
        if os.path.exists(self.config_path):
            os.unlink(self.config_path)
        return rc

    def socket_states(self):
        """TCP states of the server's sockets (local port = server port, older sockets left out)."""
        return socket_states_on_port(self.port, ignore=self.foreign, host="127.0.0.1")


def proc_net_addr(host):
    """127.0.0.1 as /proc/net/tcp writes it (little-endian hex)."""
    return "%08X" % struct.unpack("<I", socket.inet_aton(host))[0]


def sockets_on_port(port, local=True, host=None):
    """(local, remote, state) of every TCP socket whose local (or remote) port is `port` (and,
    with host, whose address is host: a client bound to 127.0.0.10 may get the server's port
    number too, since a listener on 127.0.0.1:P does not hold 127.0.0.10:P)."""
    want = proc_net_addr(host) if host else None
    found = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for row in f:
                    cols = row.split()
                    addr = cols[1] if local else cols[2]
                    ip, hexport = addr.rsplit(":", 1)
                    if int(hexport, 16) == port and (want is None or ip == want):
                        found.append((cols[1], cols[2], TCP_STATES.get(cols[3], cols[3])))
        except FileNotFoundError:
            pass
    return found


def admin_port_candidate():
    """A free loopback port below the kernel's ephemeral range. The server's own listener binds
    port 0, and the kernel could hand it a port picked here with free_port(): the admin endpoint
    would then find its port taken by its own server (seen once in a clean-clone run)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return free_port()
    for _ in range(100):
        port = random.randint(max(1024, low - 16384), low - 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


def free_port():
    """A port free on 127.0.0.1 now (below the ephemeral range is not guaranteed; bind 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def socket_states_on_port(port, local=True, ignore=(), host=None):
    """Counts of TCP states of sockets whose local (or remote) port is `port` (address `host` if
    given), leaving out the (local, remote) pairs in `ignore`."""
    counts = {}
    for loc, rem, state in sockets_on_port(port, local, host):
        if (loc, rem) not in ignore:
            counts[state] = counts.get(state, 0) + 1
    return counts


class Client:
    """One TCP connection speaking the gskel wire protocol."""

    def __init__(self, port, host="127.0.0.1", source=None):
        """`source`: a local address to connect from (127.0.0.x: another client address)."""
        self.sock = socket.create_connection((host, port), timeout=WAIT_S,
                                             source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, op, payload=b""):
        self.send(frame(op, payload))

    def _fill(self, need):
        while len(self.buf) < need:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("server closed the connection (FIN)")
            self.buf += chunk

    def recv_frame(self):
        """Returns (op, payload) of the next frame."""
        self._fill(4)
        length, op = struct.unpack("<HH", self.buf[:4])
        if length < 4:
            raise AssertionError(f"server sent a frame of length {length}")
        self._fill(length)
        payload, self.buf = self.buf[4:length], self.buf[length:]
        return op, payload

    def expect_frame(self, op):
        got_op, payload = self.recv_frame()
        if got_op != op:
            raise AssertionError(f"expected op 0x{op:04x}, got 0x{got_op:04x} ({payload!r})")
        return payload

    def echo(self, payload):
        self.send_frame(OP_ECHO, payload)
        return self.expect_frame(OP_ECHO)

    def expect_kick(self):
        """Reads a KICK frame; returns (reason name, text)."""
        payload = self.expect_frame(OP_KICK)
        code = struct.unpack("<H", payload[:2])[0]
        return REASONS[code], payload[2:].decode()

    def login(self, name=b"player"):
        self.send_frame(OP_LOGIN, bytes([len(name)]) + name)
        return struct.unpack("<I", self.expect_frame(OP_LOGIN_OK))[0]

    def end_of_stream(self):
        """Reads until the server ends the stream: 'rst' (ECONNRESET) or 'fin' (EOF).
        Frames that arrive first are collected in self.trailing."""
        self.trailing = []
        try:
            while True:
                self.trailing.append(self.recv_frame())
        except EOFError:
            return "fin"
        except ConnectionResetError:
            return "rst"
        except OSError as e:
            if e.errno == errno.ECONNRESET:
                return "rst"
            raise

    def close(self):
        self.sock.close()


class ResumableClient:
    """A client that keeps its place across connections (docs/protocol.md, "Resume"): LOGIN with
    the resume flag, every frame received after LOGIN_OK counted (and acknowledged every
    `ack_every`), every frame sent after LOGIN kept; reconnect() sends RESUME on a new connection
    and then again whatever the server says it did not take."""

    def __init__(self, port, name=b"player", host="127.0.0.1", ack_every=16, login=None):
        self.port, self.host, self.ack_every = port, host, ack_every
        self.c = Client(port, host)
        self.c.send_frame(OP_LOGIN, (login if login is not None else bytes([len(name)]) + name) + bytes([LOGIN_FLAG_RESUME]))
        ok = self.c.expect_frame(OP_LOGIN_OK)
        if len(ok) != 20:
            raise AssertionError(f"LOGIN_OK without a resume token: {ok.hex()}")
        self.session, self.token = struct.unpack("<I", ok[:4])[0], ok[4:]
        self.received = 0
        self.sent = []
        self.resumes = 0

    def send_frame(self, op, payload=b""):
        self.sent.append((op, payload))
        self.c.send_frame(op, payload)

    def recv_frame(self):
        op, payload = self.c.recv_frame()
        self.received += 1
        if self.ack_every and self.received % self.ack_every == 0:
            self.send_frame(OP_ACK, struct.pack("<Q", self.received))
        return op, payload

    def reset(self):
        """Drops the connection as a crash or a network change would: RST, nothing said."""
        self.c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.c.close()

    def resume_frame(self):
        return frame(OP_RESUME, struct.pack("<I", self.session) + self.token + struct.pack("<Q", self.received))

    def reconnect(self):
        """RESUME on a new connection; returns how many of its frames the server had taken."""
        self.c = Client(self.port, self.host)
        self.c.send(self.resume_frame())
        took = struct.unpack("<Q", self.c.expect_frame(OP_RESUME_OK))[0]
        if took > len(self.sent):
            raise AssertionError(f"the server says it took {took} frames of {len(self.sent)} sent")
        for op, payload in self.sent[took:]:
            self.c.send_frame(op, payload)
        self.resumes += 1
        return took


def metric(text, name):
    """The value of one sample in Prometheus text: `name` with its labels as written
    (gskel_tick_seconds_bucket{le="0.05"})."""
    for line in text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric {name}")


def stop_process(proc, timeout=WAIT_S):
    """SIGTERM to a helper process the test started (haproxy, redis-server), SIGKILL if it has
    not gone within `timeout`; returns its exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def wait_until(predicate, what, timeout=WAIT_S):
    """Polls predicate() until true; fails with `what` after timeout. Bounds a hang only."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class ServerTestCase(unittest.TestCase):
    """Starts one server per test; checks it stops with exit 0 and leaves no TIME_WAIT or
    CLOSE_WAIT on its port."""
    overrides = None

    def setUp(self):
        self.server = Server(self.overrides)

    def tearDown(self):
        rc = self.server.stop()
        self.assertEqual(rc, 0, "server exit status\n" + "\n".join(self.server.lines[-20:]))
        states = self.server.socket_states()
        self.assertEqual(states.get("TIME_WAIT", 0), 0, f"TIME_WAIT on the server port: {states}")
        self.assertEqual(states.get("CLOSE_WAIT", 0), 0, f"CLOSE_WAIT on the server port: {states}")


def main():
    import __main__
    for name, why in SKIP_TESTS.items():
        cls_name, _, test = name.partition(".")
        cls = getattr(__main__, cls_name, None)
        if cls is None or not hasattr(cls, test):
            raise SystemExit(f"GSKEL_SKIP_TESTS names {name}, which this file does not have")
        setattr(cls, test, unittest.skip(why or "not run on this platform")(getattr(cls, test)))
    unittest.main(verbosity=2)

"""The client processes of the soak (soak.py starts them): one role each, run until a deadline,
then one JSON line of counts on stdout for soak.py to judge.

    soak_clients.py ROLE --host H --port N --until EPOCH_SECONDS [role options]

  echo     --conns logged-in connections, each sending an ECHO --rate times a second (payload
           1-256 random bytes) and checking the reply byte for byte; at the deadline LOGOUT, wait
           for LOGOUT_OK, close first
  churn    --threads loops of connect, LOGIN, LOGOUT, LOGOUT_OK, close first; --rate a second
  kick     a frame whose length field is 2 (--rate a second, from 250 addresses of KICK_NET), and
           --idle-threads clients that log in and stay silent until the KICK notice, then close
  hostile  random bytes (--rate a second), --slowloris sockets that send one byte and wait, and a
           1,500-frame flood every two seconds; from 50 addresses of HOSTILE_NET

Abusers use their own loopback addresses so that autoban bans them, never the echo and churn
clients on 127.0.0.1. Python standard library only; every wait is bounded."""
import argparse
import errno
import heapq
import json
import os
import random
import selectors
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from gskel_harness import (OP_ECHO, OP_KICK, OP_LOGIN, OP_LOGIN_OK, OP_LOGOUT,  # noqa: E402
                           OP_LOGOUT_OK, REASONS, frame)

WAIT_S = 20.0
KICK_NET, HOSTILE_NET = "127.0.1.", "127.0.2."  # sources of the abusers: 250 and 50 addresses


def connect(a, source=None, timeout=10.0):
    s = socket.create_connection((a.host, a.port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_frame(s, buf):
    """Blocking read of one frame from s; returns (op, payload, rest of buf)."""
    while True:
        if len(buf) >= 4:
            n, op = struct.unpack("<HH", buf[:4])
            if len(buf) >= n >= 4:
                return op, buf[4:n], buf[n:]
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError
        buf += chunk


def end_of_stream(s, timeout=15.0):
    """'rst', 'fin' or 'timeout': how the server ends a stream it ends."""
    s.settimeout(timeout)
    try:
        while s.recv(65536):
            pass
        return "fin"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        if e.errno in (errno.ECONNRESET, errno.EPIPE):
            return "rst"
        raise


def login(s, name):
    s.sendall(frame(OP_LOGIN, bytes([len(name)]) + name))
    op, _, rest = recv_frame(s, b"")
    if op != OP_LOGIN_OK:
        raise AssertionError(f"LOGIN answered with op 0x{op:04x}")
    return rest


def role_echo(a):
    """Paced ping-pong on a.conns connections, every reply checked byte for byte."""
    rng = random.Random(a.seed)
    interval = 1.0 / a.rate
    sel = selectors.DefaultSelector()
    st = {"frames": 0, "wrong": 0, "unexpected_end": 0, "logout_ok": 0, "errors": []}
    conns = {}
    due = []  # heap of (time, fd)

    def open_one(i):
        s = connect(a)
        rest = login(s, b"echo%d" % i)
        s.setblocking(False)
        c = {"s": s, "buf": rest, "want": None, "i": i}
        conns[s.fileno()] = c
        sel.register(s, selectors.EVENT_READ, c)
        heapq.heappush(due, (time.monotonic() + rng.random() * interval, s.fileno()))
    for i in range(a.conns):
        open_one(i)

    def drop(c, why):
        st["unexpected_end"] += 1
        if len(st["errors"]) < 5:
            st["errors"].append(why)
        sel.unregister(c["s"])
        del conns[c["s"].fileno()]
        c["s"].close()
        if time.time() < a.until:
            open_one(c["i"])

    while time.time() < a.until:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, fd = heapq.heappop(due)
            c = conns.get(fd)
            if c is None or c["want"] is not None:
                continue
            c["want"] = rng.randbytes(rng.randint(1, 256))
            try:
                c["s"].send(frame(OP_ECHO, c["want"]))  # one small frame: fits the empty buffer
            except OSError as e:
                drop(c, f"send: {e}")
        timeout = min(max(due[0][0] - now, 0) if due else 0.1, 0.1)
        for key, _ in sel.select(timeout):
            c = key.data
            try:
                chunk = c["s"].recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                drop(c, f"recv: {e}")
                continue
            if not chunk:
                drop(c, "server sent FIN")
                continue
            c["buf"] += chunk
            while len(c["buf"]) >= 4:
                n, op = struct.unpack("<HH", c["buf"][:4])
                if len(c["buf"]) < n:
                    break
                payload, c["buf"] = c["buf"][4:n], c["buf"][n:]
                if op != OP_ECHO or payload != c["want"]:
                    st["wrong"] += 1
                    if len(st["errors"]) < 5:
                        st["errors"].append(f"op 0x{op:04x}: {payload[:16]!r} for {(c['want'] or b'')[:16]!r}")
                else:
                    st["frames"] += 1
                c["want"] = None
                heapq.heappush(due, (time.monotonic() + interval, c["s"].fileno()))
    for c in list(conns.values()):
        s = c["s"]
        try:
            s.setblocking(True)
            s.settimeout(WAIT_S)
            buf = c["buf"]
            if c["want"] is not None:
                op, payload, buf = recv_frame(s, buf)
                st["frames" if op == OP_ECHO and payload == c["want"] else "wrong"] += 1
            s.sendall(frame(OP_LOGOUT))
            op, _, buf = recv_frame(s, buf)
            st["logout_ok"] += op == OP_LOGOUT_OK
        except (OSError, EOFError) as e:
            drop(c, f"logout: {e!r}")
        s.close()
    st["conns"] = a.conns
    return st


def run_threads(n, fn):
    threads = [threading.Thread(target=fn, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def paced(a, i, per_thread_rate, body):
    """Calls body(i, k) about per_thread_rate times a second until the deadline."""
    interval = 1.0 / per_thread_rate
    k = 0
    nxt = time.monotonic()
    while time.time() < a.until:
        body(i, k)
        k += 1
        nxt += interval
        time.sleep(max(nxt - time.monotonic(), 0))


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}
        self.errors = []

    def add(self, key, n=1):
        with self.lock:
            self.c[key] = self.c.get(key, 0) + n

    def error(self, text):
        with self.lock:
            self.c["errors"] = self.c.get("errors", 0) + 1
            if len(self.errors) < 5:
                self.errors.append(text)

    def result(self):
        return {**self.c, "error_samples": self.errors}


def role_churn(a):
    counts = Counts()

    def loop(i, k):
        try:
            s = connect(a)
            try:
                rest = login(s, b"churn%d" % i)
                s.sendall(frame(OP_LOGOUT))
                op, _, _ = recv_frame(s, rest)
                counts.add("loops" if op == OP_LOGOUT_OK else "wrong_reply")
            finally:
                s.close()
        except (OSError, EOFError, AssertionError) as e:
            counts.error(f"{type(e).__name__}: {e}")
    threads = run_threads(a.threads, lambda i: paced(a, i, a.rate / a.threads, loop))
    for t in threads:
        t.join(a.until - time.time() + WAIT_S * 2)
    return counts.result()


def role_kick(a):
    counts = Counts()

    def bad_frame(i, k):
        source = KICK_NET + str(1 + (i * 7919 + k) % 250)
        try:
            s = connect(a, source)
        except ConnectionResetError:  # banned: refused at accept, before connect() returned
            counts.add("bad_frame_rst")
            return
        except OSError as e:
            counts.error(f"connect: {e}")
            return
        try:
            s.sendall(struct.pack("<HH", 2, OP_ECHO))
            counts.add("bad_frame_" + end_of_stream(s))
        except OSError as e:
            if e.errno in (errno.ECONNRESET, errno.EPIPE):
                counts.add("bad_frame_rst")
            else:
                counts.error(f"bad frame: {e}")
        finally:
            s.close()

    def idle(i, k):
        """Logged in and silent: KICK idle_timeout with notice, then this client closes first."""
        try:
            s = connect(a)
            try:
                s.settimeout(WAIT_S)
                rest = login(s, b"idle%d" % i)
                op, payload, _ = recv_frame(s, rest)
                reason = REASONS[struct.unpack("<H", payload[:2])[0]] if op == OP_KICK else f"op 0x{op:04x}"
                counts.add("notice_" + reason)
            finally:
                s.close()
        except (OSError, EOFError, AssertionError) as e:
            counts.error(f"idle: {type(e).__name__}: {e}")
    threads = run_threads(a.threads, lambda i: paced(a, i, a.rate / a.threads, bad_frame))
    threads += run_threads(a.idle_threads, lambda i: paced(a, i, 1.0, idle))
    for t in threads:
        t.join(a.until - time.time() + WAIT_S * 2)
    return counts.result()


def role_hostile(a):
    counts = Counts()

    def attempt(kind, source, data):
        try:
            s = connect(a, source)
        except ConnectionResetError:
            counts.add(kind + "_rst")
            return
        except OSError as e:
            counts.error(f"{kind} connect: {e}")
            return
        try:
            s.sendall(data)
            counts.add(kind + "_" + end_of_stream(s))
        except OSError as e:
            if e.errno in (errno.ECONNRESET, errno.EPIPE):
                counts.add(kind + "_rst")
            else:
                counts.error(f"{kind}: {e}")
        finally:
            s.close()

    def garbage(i, k):
        rng = random.Random(a.seed * 1000003 + i * 1009 + k)
        attempt("random", HOSTILE_NET + str(1 + rng.randrange(50)), rng.randbytes(rng.randint(1, 300)))

    def slowloris(i, k):
        attempt("slowloris", HOSTILE_NET + str(1 + (i + k) % 50), b"\x08")

    def flood(i, k):
        attempt("flood", HOSTILE_NET + str(1 + k % 50), frame(OP_ECHO, b"f") * 1500)
    threads = run_threads(a.threads, lambda i: paced(a, i, a.rate / a.threads, garbage))
    # a slowloris socket lives until the server resets it (partial-frame timeout), then the next
    threads += run_threads(a.slowloris, lambda i: paced(a, i, 10.0, slowloris))
    threads += run_threads(1, lambda i: paced(a, i, 0.5, flood))
    for t in threads:
        t.join(a.until - time.time() + WAIT_S * 2)
    return counts.result()


ROLES = {"echo": role_echo, "churn": role_churn, "kick": role_kick, "hostile": role_hostile}



def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("role", choices=sorted(ROLES))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--until", type=float, required=True, help="deadline, in time.time() seconds")
    ap.add_argument("--conns", type=int, default=150)
    ap.add_argument("--rate", type=float, default=10)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--idle-threads", type=int, default=4)
    ap.add_argument("--slowloris", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    print(json.dumps(ROLES[a.role](a)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The client side of the netem tests, run inside the client namespace (netns.NetPair.client):
one scenario per call, its outcome printed as one JSON line for the test to judge.

    netem_client.py SCENARIO --host H --port N [options]

Scenarios:
  echo         --conns C connections, each: LOGIN, --frames F ECHO frames (at most --window
               unanswered, sent in batches so frames straddle segments), each reply checked
               against what was sent, in order; then LOGOUT, whose LOGOUT_OK must be the very
               next frame (a duplicated echo would show there); then close first
  bad_frame    --conns C connections each send a frame whose length field is 2, then read to
               the end of the stream
  close        --conns C connections: LOGIN, one ECHO, close first
  idle_kick    --conns C connections: LOGIN, then wait for the server's KICK; close first, or
               with --stay keep the socket open and read to the end of the stream
  slow_reader  --conns C connections with a small receive buffer send ECHO frames and never read
  resume       --conns C connections, each: LOGIN asking for resume, --frames F ECHO frames (at
               most --window unanswered), and every --cut-every replies the connection is reset
               (or closed without LOGOUT) and resumed: every reply must come once, in order, across
               the connections; then LOGOUT
  stream       one connection streams --frames ECHO frames (at most --window unanswered; 0: all
               at once) and reads replies until the stream ends (a proxy that cuts it, a guard
               that resets it)

The end of a stream is 'rst' or 'fin'. A RST is sent once and never retransmitted, so under loss
it can be lost: a client that hears nothing for a second sends one byte, which the server's
kernel answers with a fresh RST if the connection is gone there (a FIN would show as 'fin'
all the same). Every wait here is bounded (gskel_harness.WAIT_S)."""
import argparse
import errno
import json
import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from gskel_harness import (OP_ECHO, OP_KICK, OP_LOGIN, OP_LOGIN_OK, OP_LOGOUT,  # noqa: E402
                           OP_LOGOUT_OK, REASONS, WAIT_S, Client, ResumableClient, frame)

PROBE_AFTER_S = 1.0
RESET_ERRNOS = (errno.ECONNRESET, errno.EPIPE)


def end_of_stream(c, deadline_s=WAIT_S):
    """Reads to the end of the stream: 'rst', 'fin' or 'timeout'; frames met on the way are
    returned too. Probes with one byte after a quiet second (see the module doc)."""
    trailing = []
    deadline = time.monotonic() + deadline_s
    c.sock.settimeout(PROBE_AFTER_S)
    while time.monotonic() < deadline:
        try:
            trailing.append(c.recv_frame()[0])
        except EOFError:
            return "fin", trailing
        except socket.timeout:
            try:
                c.sock.send(b"\0")
            except OSError as e:
                if e.errno in RESET_ERRNOS:
                    return "rst", trailing
                raise
        except OSError as e:
            if e.errno in RESET_ERRNOS:
                return "rst", trailing
            raise
    return "timeout", trailing


def connect(a):
    return Client(a.port, host=a.host)


def run_threads(n, target):
    results = [None] * n

    def run(i):
        try:
            results[i] = target(i)
        except Exception as e:  # reported per connection: one failure must not hide the rest
            results[i] = {"error": f"{type(e).__name__}: {e}"}
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S * 10)
    return [r if r is not None else {"error": "still running"} for r in results]


def echo_payload(rng, conn, seq, lo, hi):
    return struct.pack("<HI", conn, seq) + rng.randbytes(rng.randint(max(lo - 6, 0), max(hi - 6, 0)))


def reply_error(op, payload, want, answered):
    """None if the reply is the echo of want, else what went wrong."""
    if op == OP_ECHO and payload == want:
        return None
    got = struct.unpack("<HI", payload[:6]) if op == OP_ECHO and len(payload) >= 6 else None
    return {"answered": answered, "error": f"reply {answered}: op 0x{op:04x} (conn, seq) {got}, "
                                          f"want {struct.unpack('<HI', want[:6])}"}


def scenario_echo(a):
    def one(i):
        rng = random.Random(a.seed * 1000 + i)
        c = connect(a)
        c.login(b"echo%d" % i)
        expected = []  # payloads sent and not answered yet, oldest first
        sent = answered = 0
        while answered < a.frames:
            batch = []
            while sent < a.frames and len(expected) + len(batch) < a.window:
                p = echo_payload(rng, i, sent, a.min_payload, a.max_payload)
                batch.append(p)
                sent += 1
            if batch:
                expected.extend(batch)
                c.send(b"".join(frame(OP_ECHO, p) for p in batch))
            op, payload = c.recv_frame()
            failed = reply_error(op, payload, expected.pop(0), answered)
            if failed:
                return failed
            answered += 1
        c.send_frame(OP_LOGOUT)
        op, payload = c.recv_frame()
        after = "logout_ok" if op == OP_LOGOUT_OK else f"op 0x{op:04x} {payload[:6]!r}"
        c.close()
        return {"answered": answered, "after_last": after}
    conns = run_threads(a.conns, one)
    print(json.dumps({"conns": conns, "answered": sum(c.get("answered", 0) for c in conns),
                      "errors": [c["error"] for c in conns if "error" in c]}))


def scenario_bad_frame(a):
    def one(i):
        c = connect(a)
        c.send(struct.pack("<HH", 2, OP_ECHO))
        end, trailing = end_of_stream(c)
        c.close()
        return {"end": end, "trailing": trailing}
    print(json.dumps(summarize(run_threads(a.conns, one))))


def scenario_close(a):
    def one(i):
        c = connect(a)
        c.login(b"closer%d" % i)
        ok = c.echo(b"bye %d" % i) == b"bye %d" % i
        c.close()
        return {"end": "closed" if ok else "bad_echo"}
    print(json.dumps(summarize(run_threads(a.conns, one))))


def scenario_idle_kick(a):
    def one(i):
        c = connect(a)
        # Under loss LOGIN can reach the server after the idle timeout has already sent the KICK,
        # which the server then drops (it takes no input after a KICK): so LOGIN_OK is optional.
        c.send_frame(OP_LOGIN, b"\x06idler%d" % (i % 10))
        op, payload = c.recv_frame()
        if op == OP_LOGIN_OK:
            op, payload = c.recv_frame()
        kick = REASONS[struct.unpack("<H", payload[:2])[0]] if op == OP_KICK else f"op 0x{op:04x}"
        if not a.stay:
            c.close()
            return {"end": "closed", "kick": kick}
        end, trailing = end_of_stream(c)
        c.close()
        return {"end": end, "kick": kick, "trailing": trailing}
    print(json.dumps(summarize(run_threads(a.conns, one))))


def scenario_slow_reader(a):
    def one(i):
        c = connect(a)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.sock.settimeout(0.05)
        data = frame(OP_ECHO, b"s" * 8000) * 8
        pushed = 0
        deadline = time.monotonic() + WAIT_S * 3
        while time.monotonic() < deadline:
            at = pushed % len(data)  # a send can be partial: go on from there, frames stay whole
            try:
                pushed += c.sock.send(data[at:])
            except socket.timeout:
                continue  # our send buffer is full too: keep pushing while the server reads
            except OSError as e:
                if e.errno in RESET_ERRNOS:
                    return {"end": "rst", "pushed": pushed}
                raise
        return {"end": "timeout", "pushed": pushed}
    print(json.dumps(summarize(run_threads(a.conns, one))))


def scenario_stream(a):
    """No LOGIN: the server answers ECHO in any state. --window 0 pushes every frame at once;
    otherwise at most --window frames go unanswered."""
    c = connect(a)
    c.sock.settimeout(WAIT_S)
    rng = random.Random(a.seed)
    frames = [frame(OP_ECHO, echo_payload(rng, 0, i, a.min_payload, a.max_payload)) for i in range(a.frames)]
    room = threading.Semaphore(a.window or a.frames)
    gone = threading.Event()
    reset_on_send = threading.Event()

    def push():
        try:
            for f in frames:
                while not room.acquire(timeout=0.1):
                    if gone.is_set():
                        return
                c.sock.sendall(f)
        except OSError as e:
            # A reset that surfaces here is consumed here: the reader then sees EOF, not the RST.
            if e.errno in RESET_ERRNOS:
                reset_on_send.set()
    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    answered = 0
    try:
        while True:
            c.recv_frame()
            answered += 1
            room.release()
    except EOFError:
        end = "fin"
    except socket.timeout:
        end = "timeout"
    except OSError as e:
        if e.errno not in RESET_ERRNOS:
            raise
        end = "rst"
    gone.set()
    pusher.join(WAIT_S)
    if end == "fin" and reset_on_send.is_set():
        end = "rst"
    print(json.dumps({"end": end, "answered": answered, "frames": a.frames}))


def scenario_resume(a):
    def one(i):
        rng = random.Random(a.seed * 1000 + i)
        rc = ResumableClient(a.port, b"resume%d" % i, host=a.host, ack_every=8)
        rc.c.sock.settimeout(WAIT_S)
        expected, sent, answered = [], 0, 0
        while answered < a.frames:
            while sent < a.frames and len(expected) < a.window:
                p = echo_payload(rng, i, sent, a.min_payload, a.max_payload)
                expected.append(p)
                rc.send_frame(OP_ECHO, p)
                sent += 1
            op, payload = rc.recv_frame()
            failed = reply_error(op, payload, expected.pop(0), answered)
            if failed:
                return failed
            answered += 1
            if answered % a.cut_every == 0 and answered < a.frames:
                rc.reset() if rng.random() < 0.5 else rc.c.close()
                rc.reconnect()
                rc.c.sock.settimeout(WAIT_S)
        rc.c.send_frame(OP_LOGOUT)
        while True:
            op, payload = rc.c.recv_frame()
            if op != 0x0016:
                break
        after = "logout_ok" if op == OP_LOGOUT_OK else f"op 0x{op:04x} {payload[:6]!r}"
        rc.c.close()
        return {"answered": answered, "after_last": after, "resumes": rc.resumes, "session": rc.session}
    conns = run_threads(a.conns, one)
    print(json.dumps({"conns": conns, "answered": sum(c.get("answered", 0) for c in conns),
                      "resumes": sum(c.get("resumes", 0) for c in conns),
                      "errors": [c["error"] for c in conns if "error" in c]}))


def summarize(conns):
    ends = {}
    for c in conns:
        key = c.get("end", "error")
        ends[key] = ends.get(key, 0) + 1
    return {"conns": conns, "ends": ends, "errors": [c["error"] for c in conns if "error" in c]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", choices=["echo", "bad_frame", "close", "idle_kick", "slow_reader", "stream", "resume"])
    ap.add_argument("--cut-every", type=int, default=50, help="resume: replies between connection cuts")
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=1)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--min-payload", type=int, default=6)
    ap.add_argument("--max-payload", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stay", action="store_true", help="idle_kick: do not close after the KICK")
    a = ap.parse_args()
    globals()["scenario_" + a.scenario](a)


if __name__ == "__main__":
    main()

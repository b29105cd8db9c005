#!/usr/bin/env bash
# Reruns every capture behind docs/closing.md: each way a gskel connection ends, as the wire
# (tshark on loopback) and the kernel (ss) see it, on the epoll and io_uring backends; a small
# Python contrast server for what gskel avoids (close first, shutdown(), SO_LINGER modes); and
# the SO_SNDBUF/SO_RCVBUF figures. It builds nothing of gskel; it compiles one small liburing
# demo (the kernel behaviour behind platform/io_uring.c's close order) into a temporary folder,
# and skips that capture if there is no cc or liburing.
#
#   docs/captures/capture_closing.sh [path/to/gskel-server]     (default build/bin/gskel-server)
#
# Needs: root (tshark on lo), tshark, ss (iproute2), python3 (stdlib only). Loopback only; every
# wait is bounded; it stops only the processes it started. Writes docs/captures/*.txt and the
# raw captures in docs/captures/pcap/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SERVER=${1:-build/bin/gskel-server}
case $SERVER in /*) ;; *) SERVER=$PWD/$SERVER ;; esac
[ -x "$SERVER" ] || { echo "capture_closing.sh: no server binary at $SERVER (build it first)" >&2; exit 2; }
for tool in tshark ss python3; do
    command -v "$tool" >/dev/null || { echo "capture_closing.sh: $tool not found" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/gskel-captures.XXXXXX)
PCAPS=$HERE/pcap
mkdir -p "$PCAPS"
TSHARK_PID=

cleanup() {
    if [ -n "$TSHARK_PID" ] && kill -0 "$TSHARK_PID" 2>/dev/null; then kill -TERM "$TSHARK_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_capture NAME PORT: tshark on lo for one port, into $PCAPS/NAME.pcap; returns once it captures.
start_capture() {
    local name=$1 port=$2
    rm -f "$PCAPS/$name.pcap" "$WORK/tshark-$name.err"
    # 256 bytes a packet: every header and the first gskel frames, not the bulk payload.
    tshark -i lo -f "tcp port $port" -s 256 -w "$PCAPS/$name.pcap" -q 2>"$WORK/tshark-$name.err" &
    TSHARK_PID=$!
    for _ in $(seq 300); do  # at most 30 s: tshark loads its dissectors first (8 s seen)
        grep -q "Capturing on" "$WORK/tshark-$name.err" 2>/dev/null && break
        kill -0 "$TSHARK_PID" 2>/dev/null || { cat "$WORK/tshark-$name.err" >&2; exit 1; }
        sleep 0.1
    done
    grep -q "Capturing on" "$WORK/tshark-$name.err" || { echo "capture_closing.sh: tshark did not start" >&2; exit 1; }
    sleep 1  # "Capturing on" is printed a moment before the first packet can be seen
}

stop_capture() {
    sleep 1  # let the last packets reach the file
    # TERM, not INT: a background job of a non-interactive shell starts with SIGINT ignored.
    kill -TERM "$TSHARK_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$TSHARK_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$TSHARK_PID" 2>/dev/null && kill -KILL "$TSHARK_PID" 2>/dev/null || true
    wait "$TSHARK_PID" 2>/dev/null || true
    TSHARK_PID=
    chmod a+r "$PCAPS"/*.pcap
}

cat >"$WORK/driver.py" <<'PY'
"""Drives each closing path and renders the captures. Modes:
  gskel BACKEND PORT MANIFEST | contrast PORT MANIFEST | uring DEMO PORT MANIFEST
  | buffers PORT MANIFEST                                                  (drive a run)
  render MANIFEST PCAP OUT.txt | compare OUT.txt (NAME MANIFEST PCAP TXT)...   (print it)"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

import gskel_harness as h

GRACE_MS, IDLE_MS, LOGIN_MS = 1000, 1500, 1000
CONFIG = {"session": {"login_timeout_ms": LOGIN_MS, "idle_timeout_ms": IDLE_MS, "close_grace_ms": GRACE_MS}}
OPS = {0x0001: "ECHO", 0x0002: "PING", 0x0003: "PONG", 0x0010: "LOGIN", 0x0011: "LOGIN_OK",
       0x0012: "LOGOUT", 0x0013: "LOGOUT_OK", 0x0020: "KICK"}
HALF_CLOSE_TRIES = 20
SETTLE_S = 0.3  # after a path ends, before ss looks: the server's close runs on its own loop turn


def ss(args, filt):
    out = subprocess.run(["ss", *args, filt], capture_output=True, text=True, timeout=10).stdout
    return [" ".join(line.split()) for line in out.splitlines() if line.strip()]


# Addresses as well as ports: a client of another test bound to 127.0.0.x may get the same port
# number on its own address.
def conn_filter(port, cport):
    return (f"( src 127.0.0.1:{port} and dst 127.0.0.1:{cport} ) or "
            f"( src 127.0.0.1:{cport} and dst 127.0.0.1:{port} )")


def snapshot(port, cport=None):
    """The kernel's view: this connection's sockets (both ends) and every socket whose local port
    is the server's, counted by state."""
    server_side = ss(["-tanH"], f"( src 127.0.0.1:{port} )")
    counts = {}
    for line in server_side:
        counts[line.split()[0]] = counts.get(line.split()[0], 0) + 1
    counts.pop("LISTEN", None)
    snap = {"server_port_states": counts,
            "cmd": f"ss -tano '( src 127.0.0.1:{port} )'"}
    if cport:
        snap["this_connection"] = ss(["-tanoH"], conn_filter(port, cport))
    snap["time_wait_on_server_port"] = ss(["-tanoH", "state", "time-wait"], f"( src 127.0.0.1:{port} )")
    return snap


class Path:
    def __init__(self, key, title, port):
        self.key, self.title, self.port = key, title, port
        self.notes, self.t0, self.cport, self.extra = [], time.monotonic(), None, {}

    def note(self, what):
        self.notes.append(f"t={time.monotonic() - self.t0:7.3f}s  {what}")

    def attach(self, sock):
        self.cport = sock.getsockname()[1]

    def done(self, server=None, settle=SETTLE_S):
        time.sleep(settle)
        d = {"key": self.key, "title": self.title, "cport": self.cport, "client": self.notes,
             "ss_after": snapshot(self.port, self.cport), **self.extra}
        if server is not None:
            d["server_log"] = [l for l in server.lines if "event=disconnect" in l and f":{self.cport} " in l]
        return d


def read_until_end(c, p, deadline_s):
    """Reads frames until the server ends the stream; notes each with its time."""
    c.sock.settimeout(deadline_s)
    try:
        while True:
            op, payload = c.recv_frame()
            if op == h.OP_KICK:
                p.note(f"client read KICK reason={h.REASONS[struct.unpack('<H', payload[:2])[0]]} "
                       f"text={payload[2:].decode()!r}")
            else:
                p.note(f"client read {OPS.get(op, hex(op))} ({len(payload)} B payload)")
    except EOFError:
        p.note("client read end of stream: FIN from the server")
        return "fin"
    except ConnectionResetError:
        p.note("client recv failed: ECONNRESET (RST from the server)")
        return "rst"
    except socket.timeout:
        p.note("client gave up waiting (bounded wait)")
        return "timeout"


def connect_login(server, p):
    c = server.connect()
    p.attach(c.sock)
    sid = c.login()
    p.note(f"client connected from :{p.cport}, LOGIN -> LOGIN_OK id={sid}")
    return c


def drive_gskel(backend, port, manifest):
    server = h.Server({**CONFIG, "listen": {"port": port}}, backend=backend)
    paths, servers_log = [], []
    try:
        p = Path("a", "client closes first", port)
        c = connect_login(server, p)
        p.note(f"ECHO round trip: {c.echo(b'hi')!r}")
        c.close()
        p.note("client close()")
        server.wait_for_log("disconnect", reason="client_close")
        paths.append(p.done(server))

        p = Path("a2", "client sends ECHO and half-closes (shutdown SHUT_WR) in one go, then reads; "
                 f"{HALF_CLOSE_TRIES} tries", port)
        kept, got = None, {"reply": 0, "lost": 0}
        for i in range(HALF_CLOSE_TRIES):
            c = server.connect()
            c.login()
            c.send(h.frame(h.OP_ECHO, b"reply?"))
            c.sock.shutdown(socket.SHUT_WR)
            end = c.end_of_stream()
            lost = not any(op == h.OP_ECHO for op, _ in c.trailing)
            got["lost" if lost else "reply"] += 1
            if kept is None and lost or i == HALF_CLOSE_TRIES - 1 and kept is None:
                kept = (i + 1, c.sock.getsockname()[1], lost, end)
            c.close()
        server.wait_for_log("disconnect", reason="client_close", count=1 + HALF_CLOSE_TRIES)
        p.cport = kept[1]
        p.note(f"each try: LOGIN, then ECHO 'reply?' and shutdown(SHUT_WR) at once, then read to the end")
        p.note(f"{HALF_CLOSE_TRIES} tries: the ECHO reply arrived before the server's FIN in {got['reply']}, "
               f"was missing in {got['lost']}")
        p.note(f"the wire below is try {kept[0]} (from :{kept[1]}): reply {'MISSING' if kept[2] else 'received'}, "
               f"stream ended with {kept[3].upper()}")
        p.extra["half_close"] = got
        paths.append(p.done(server))

        p = Path("b", "LOGOUT, LOGOUT_OK, client closes", port)
        c = connect_login(server, p)
        c.send_frame(h.OP_LOGOUT)
        p.note("client sent LOGOUT")
        p.note(f"client read {OPS[c.recv_frame()[0]]}")
        c.close()
        p.note("client close()")
        server.wait_for_log("disconnect", reason="logout", count=1)
        paths.append(p.done(server))

        p = Path("c", f"LOGOUT, client does not close: RST after close_grace_ms={GRACE_MS}", port)
        c = connect_login(server, p)
        c.send_frame(h.OP_LOGOUT)
        p.note("client sent LOGOUT and keeps reading, never closes")
        p.note(f"client read {OPS[c.recv_frame()[0]]}")
        time.sleep(GRACE_MS / 2000)
        p.extra["ss_during_grace"] = snapshot(port, p.cport)
        read_until_end(c, p, 10)
        c.close()
        server.wait_for_log("disconnect", reason="logout", count=2)
        paths.append(p.done(server))

        p = Path("d", f"idle kick with notice (idle_timeout_ms={IDLE_MS}), client closes after reading KICK", port)
        c = connect_login(server, p)
        c.sock.settimeout(10)
        reason, text = c.expect_kick()
        p.note(f"client read KICK reason={reason} text={text!r}")
        c.close()
        p.note("client close()")
        server.wait_for_log("disconnect", reason="idle_timeout", count=1)
        paths.append(p.done(server))

        p = Path("e", "idle kick, client neither reads nor closes: KICK, then RST after the grace", port)
        c = connect_login(server, p)
        wait = (IDLE_MS + GRACE_MS) / 1000 + 1.0
        p.note(f"client sleeps {wait:.1f}s without reading")
        time.sleep(wait / 2)
        p.extra["ss_during_grace"] = snapshot(port, p.cport)
        time.sleep(wait / 2)
        p.note("client reads now: what is left in its receive queue after the RST")
        read_until_end(c, p, 10)
        c.close()
        server.wait_for_log("disconnect", reason="idle_timeout", count=2)
        paths.append(p.done(server))

        p = Path("e2", "client stops reading (zero window): the KICK cannot be acknowledged, RST "
                 "close_grace_ms after the kick", port)
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(10)
        raw.connect(("127.0.0.1", port))
        c = h.Client.__new__(h.Client)  # a harness client on a socket with a small receive buffer
        c.sock, c.buf = raw, b""
        p.attach(raw)
        c.login()
        c.send(h.frame(h.OP_ECHO, b"e" * 2000) * 64)
        p.note(f"client connected from :{p.cport} with SO_RCVBUF 4096, logged in, sent 64 ECHO x 2000 B, "
               "then stops reading")
        time.sleep((IDLE_MS + GRACE_MS / 2) / 1000)
        p.extra["ss_during_grace"] = snapshot(port, p.cport)
        time.sleep(GRACE_MS / 2000 + 1.0)
        frames = []
        raw.settimeout(5)
        try:
            while True:
                frames.append(c.recv_frame()[0])
        except (ConnectionResetError, EOFError, socket.timeout) as e:
            end = type(e).__name__
        p.note(f"client reads at last: {frames.count(h.OP_ECHO)} ECHO replies, "
               f"{'a KICK' if h.OP_KICK in frames else 'no KICK'}, then {end}")
        raw.close()
        server.wait_for_log("disconnect", reason="idle_timeout", count=3)
        paths.append(p.done(server))

        p = Path("f", "abortive: ECHO then a bad frame (length 2) in one segment: RST at once, "
                 "the queued ECHO reply is dropped", port)
        c = connect_login(server, p)
        c.send(h.frame(h.OP_ECHO, b"dropped?") + struct.pack("<HH", 2, h.OP_ECHO))
        p.note("client sent ECHO 'dropped?' + frame with len=2 in one send")
        read_until_end(c, p, 10)
        c.close()
        server.wait_for_log("disconnect", reason="bad_frame")
        paths.append(p.done(server))

        p = Path("f2", f"abortive: no LOGIN within login_timeout_ms={LOGIN_MS}: RST, no notice", port)
        c = server.connect()
        p.attach(c.sock)
        p.note(f"client connected from :{p.cport}, sends nothing")
        read_until_end(c, p, 10)
        c.close()
        server.wait_for_log("disconnect", reason="login_timeout")
        paths.append(p.done(server))

        p = Path("g", "SIGTERM with a logged-in client: KICK shutdown, client closes", port)
        c = connect_login(server, p)
        t = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        p.note("SIGTERM sent to the server")
        c.sock.settimeout(10)
        reason, text = c.expect_kick()
        p.note(f"client read KICK reason={reason} text={text!r}")
        c.close()
        p.note("client close()")
        rc = server.stop()
        p.note(f"server exited with status {rc}, {time.monotonic() - t:.3f}s after SIGTERM")
        servers_log += server.lines
        paths.append(p.done(server))

        server = h.Server({**CONFIG, "listen": {"port": port}}, backend=backend)
        p = Path("g2", "SIGTERM, client reads but does not close: KICK, RST after the grace, server exits", port)
        c = connect_login(server, p)
        t = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        p.note("SIGTERM sent to the server")
        read_until_end(c, p, 10)
        c.close()
        rc = server.stop()
        p.note(f"server exited with status {rc}, {time.monotonic() - t:.3f}s after SIGTERM")
        paths.append(p.done(server))
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(timeout=10)
        servers_log += server.lines
    write(manifest, {"run": f"gskel --backend {backend}", "port": port, "config": CONFIG,
                     "server_log": servers_log, "paths": paths})


def contrast_accept(lst, p):
    cl = socket.create_connection(("127.0.0.1", lst.getsockname()[1]), timeout=10)
    p.attach(cl)
    srv, _ = lst.accept()
    p.note(f"client connected from :{p.cport}")
    return cl, srv


def timed_close(srv, p, label):
    t = time.monotonic()
    srv.close()
    p.note(f"server {label} close() returned after {1000 * (time.monotonic() - t):.1f} ms")


def client_drain(cl, p, what="client"):
    cl.settimeout(5)
    got = b""
    try:
        while True:
            chunk = cl.recv(65536)
            if not chunk:
                p.note(f"{what} read {len(got)} B, then end of stream (FIN)")
                return
            got += chunk
    except ConnectionResetError:
        p.note(f"{what} read {len(got)} B, then ECONNRESET")
    except socket.timeout:
        p.note(f"{what} read {len(got)} B, then timed out (bounded wait)")


def set_linger(s, onoff, secs):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", onoff, secs))


def drive_contrast(port, manifest):
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", port))
    lst.listen(16)
    paths = []

    p = Path("h", "contrast: a server that close()s first (SO_LINGER off, the default)", port)
    cl, srv = contrast_accept(lst, p)
    srv.sendall(b"bye")
    timed_close(srv, p, "(linger off)")
    client_drain(cl, p)
    cl.close()
    p.note("client close()")
    paths.append(p.done())

    p = Path("h2", "contrast: a server that calls shutdown(SHUT_WR) and a client that never closes", port)
    cl, srv = contrast_accept(lst, p)
    srv.shutdown(socket.SHUT_WR)
    p.note("server shutdown(SHUT_WR): FIN goes out, socket still open")
    time.sleep(SETTLE_S)
    p.extra["ss_after_shutdown"] = snapshot(port, p.cport)
    srv.close()
    p.note("server close(): the socket is now orphaned in FIN_WAIT2 (tcp_fin_timeout applies)")
    time.sleep(SETTLE_S)
    p.extra["ss_after_server_close"] = snapshot(port, p.cport)
    cl.close()
    p.note("client close() at last")
    paths.append(p.done())

    p = Path("i0", "contrast: SO_LINGER {0, 30}: same as off, l_linger ignored", port)
    cl, srv = contrast_accept(lst, p)
    set_linger(srv, 0, 30)
    srv.sendall(b"bye")
    timed_close(srv, p, "{0,30}")
    client_drain(cl, p)
    cl.close()
    p.note("client close()")
    paths.append(p.done())

    p = Path("i1", "contrast: SO_LINGER {1, 0}: abortive close, what gskel does", port)
    cl, srv = contrast_accept(lst, p)
    srv.sendall(b"bye")
    time.sleep(0.1)  # "bye" is acknowledged and sits unread in the client's receive queue
    set_linger(srv, 1, 0)
    timed_close(srv, p, "{1,0}")
    time.sleep(0.1)
    client_drain(cl, p, "client (reading only after the RST arrived)")
    cl.close()
    paths.append(p.done())

    p = Path("i2", "contrast: SO_LINGER {1, 2}, client reads: close() waits for the ack, then FIN", port)
    cl, srv = contrast_accept(lst, p)
    set_linger(srv, 1, 2)
    srv.sendall(b"bye")
    timed_close(srv, p, "{1,2}")
    client_drain(cl, p)
    cl.close()
    p.note("client close()")
    paths.append(p.done())

    p = Path("i3", "contrast: SO_LINGER {1, 2} on a NON-BLOCKING socket, client not reading", port)
    cl = socket.socket()
    cl.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    cl.settimeout(10)
    cl.connect(("127.0.0.1", port))
    p.attach(cl)
    srv, _ = lst.accept()
    p.note(f"client connected from :{p.cport} with SO_RCVBUF 4096, never reads")
    srv.setblocking(False)
    sent = 0
    for _ in range(100000):  # bounded: fill the client's window and the server's send buffer
        try:
            sent += srv.send(b"x" * 65536)
        except BlockingIOError:
            break
    p.note(f"server queued {sent} B until EAGAIN")
    set_linger(srv, 1, 2)
    fd = srv.detach()  # close the fd with os.close: the socket object would retry on EAGAIN
    t = time.monotonic()
    os.close(fd)
    p.note(f"server close() on the non-blocking socket returned after {1000 * (time.monotonic() - t):.1f} ms")
    time.sleep(SETTLE_S)
    p.extra["ss_after_server_close"] = snapshot(port, p.cport)
    cl.close()
    p.note("client close() with unread data")
    paths.append(p.done())
    lst.close()
    write(manifest, {"run": "Python contrast server (not gskel)", "port": port, "paths": paths,
                     "sysctl": {"ipv4.tcp_fin_timeout": open("/proc/sys/net/ipv4/tcp_fin_timeout").read().split()}})


def drive_uring(demo, port, manifest):
    """Runs the liburing demo (uring_close_demo.c, compiled by the script): A closes the fd with a
    multishot recv armed, B cancels and reaps first."""
    out = subprocess.run([demo, str(port)], capture_output=True, text=True, timeout=30)
    paths = {}
    titles = {"A": "io_uring: SO_LINGER {1,0} and close(fd) while a multishot recv is armed, cancel 500 ms later",
              "B": "io_uring: SO_LINGER {1,0}, cancel the recv and reap it, then close(fd) (gskel's order)"}
    for line in out.stdout.splitlines():
        tag, rest = line.split(" ", 1)
        p = paths.setdefault(tag, {"key": f"j-{tag}", "title": titles[tag], "client": [], "cport": None})
        if rest.startswith("cport="):
            p["cport"] = int(rest.split("=")[1])
        else:
            p["client"].append(" ".join(rest.split()))
    if out.returncode != 0:
        raise SystemExit(f"uring demo failed: {out.stderr}")
    for p in paths.values():
        p["ss_after"] = snapshot(port, p["cport"])
    write(manifest, {"run": "liburing demo (not gskel): close() versus an armed multishot recv", "port": port,
                     "who": "C = demo client socket, S = demo server socket", "paths": list(paths.values())})


def drive_buffers(port, manifest):
    runs = []
    for label, snd in (("65536", 65536), ("0 (autotuning)", 0)):
        server = h.Server({"listen": {"port": port}, "socket": {"sndbuf": snd, "rcvbuf": snd}})
        try:
            p = Path(f"buf-{snd}", f"socket.sndbuf = socket.rcvbuf = {label}", port)
            c = connect_login(server, p)
            p.extra["listening"] = [l for l in server.lines if "event=listening" in l]
            time.sleep(0.1)
            p.extra["ss_m_before"] = ss(["-tmnH", "state", "established"], f"( src 127.0.0.1:{port} )")
            payload, total, batch = b"z" * 8188, 0, 32
            c.sock.settimeout(10)
            for _ in range(64):  # 64 x 32 x 8 KiB = 16 MiB each way, bounded
                c.send(h.frame(h.OP_ECHO, payload) * batch)
                for _ in range(batch):
                    c.expect_frame(h.OP_ECHO)
                total += batch * len(payload)
            p.note(f"echoed {total} B of payload each way")
            p.extra["ss_m_after"] = ss(["-tmnH", "state", "established"], f"( src 127.0.0.1:{port} )")
            c.close()
            server.wait_for_log("disconnect", reason="client_close")
            runs.append(p.done(server))
        finally:
            server.stop()
    sysctls = {k: open(f"/proc/sys/net/{k.replace('.', '/')}").read().split()
               for k in ("ipv4.tcp_wmem", "ipv4.tcp_rmem", "core.wmem_max", "core.rmem_max", "core.wmem_default",
                         "core.rmem_default")}
    write(manifest, {"run": "socket buffers", "port": port, "sysctl": sysctls, "paths": runs,
                     "who": "C = the Python client, S = gskel-server"})


def write(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


# ---------------------------------------------------------------------------------------------
# Rendering: one tshark pass per connection, labelled and with gskel frames decoded.

FIELDS = ["ip.src", "ip.dst", "tcp.stream", "tcp.time_relative", "tcp.time_delta", "tcp.srcport", "tcp.flags", "tcp.seq",
          "tcp.ack", "tcp.window_size", "tcp.len", "tcp.payload"]


def flag_names(v):
    names = [n for bit, n in ((0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK"))
             if v & bit]
    return "[" + ", ".join(names) + "]"


def frame_text(op, body, n):
    name = OPS.get(op, f"op 0x{op:04x}")
    if op == 0x0020 and len(body) >= 2:
        return f"KICK reason={h.REASONS[struct.unpack('<H', body[:2])[0]]} text={body[2:].decode(errors='replace')!r}"
    if op == 0x0011 and len(body) == 4:
        return f"LOGIN_OK id={struct.unpack('<I', body)[0]}"
    return f"{name} len={n}"


class StreamDecoder:
    """gskel frames of one direction, from segments that may split or join frames and that the
    capture cut at 256 bytes: follows frame boundaries by sequence number."""

    def __init__(self):
        self.next_frame = 1  # relative sequence number of the next frame header
        self.high = 1        # end of the highest segment seen
        self.lost = False

    def segment(self, seq, length, data):
        if length == 0:
            return ""
        if seq + length <= self.high:
            return "(retransmission)"
        self.high = seq + length
        if seq + length <= self.next_frame:
            return "(rest of a frame)"
        out, stop = [], False
        while self.next_frame < seq + length and not self.lost:
            off = self.next_frame - seq
            if off < 0 or off + 4 > len(data):
                if off + 4 <= length:  # the header is in the segment but beyond what was captured
                    out.append("...")
                    self.lost = True
                break
            n, op = struct.unpack("<HH", data[off:off + 4])
            if n < 4:
                out.append(f"{OPS.get(op, hex(op))} len={n} (bad frame)")
                self.lost = True
                break
            out.append(frame_text(op, data[off + 4:off + n], n) + ("" if off + n <= length else " (continues)"))
            self.next_frame += n
        if len(out) > 3:
            out = out[:2] + [f"... {len(out) - 2} more frames"]
        return "; ".join(out) if out else "(rest of a frame)"


def decode_raw(data, length):
    return repr(data[:16]) + ("..." if length > 16 else "")


_CACHE = {}


def packets(pcap, cport):
    """This connection's packets: one tshark pass per capture file, split by the client's port."""
    if pcap not in _CACHE:
        cmd = ["tshark", "-r", pcap, "-o", "tcp.calculate_timestamps:TRUE", "-T", "fields", "-E", "separator=\t",
               *sum((["-e", f] for f in FIELDS + ["tcp.dstport"]), [])]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
        _CACHE[pcap] = [dict(zip(FIELDS + ["tcp.dstport"], line.split("\t"))) for line in out.splitlines() if line.strip()]
    pk = [k for k in _CACHE[pcap] if str(cport) in (k["tcp.srcport"], k["tcp.dstport"])
          and k["ip.src"] == k["ip.dst"] == "127.0.0.1"]
    streams = {k["tcp.stream"] for k in pk}
    assert len(streams) <= 1, f"client port {cport} was used by {len(streams)} connections in {pcap}"
    return pk


def syn_lines(pcap, cport):
    """The handshake as tshark's default one-line summary (window scale, MSS)."""
    out = subprocess.run(["tshark", "-r", pcap, "-Y", "tcp.flags.syn == 1"], capture_output=True, text=True,
                         timeout=60).stdout
    return [" ".join(l.split()) for l in out.splitlines() if f" {cport} " in f" {l} "]


def render_packets(pkts, port, gskel):
    rows = ["     t (s)    dt (ms)  dir      flags        seq    ack      win    len  payload"]
    dec = {True: StreamDecoder(), False: StreamDecoder()}
    for k in pkts:
        srv = int(k["tcp.srcport"]) == port
        d = "S -> C" if srv else "C -> S"
        n = int(k["tcp.len"] or 0)
        data = bytes.fromhex(k.get("tcp.payload", "").replace(":", ""))
        seq = int(k["tcp.seq"] or 0)
        pl = "" if not n else dec[srv].segment(seq, n, data) if gskel else decode_raw(data, n)
        rows.append(f"{float(k['tcp.time_relative']):10.6f} {1000 * float(k['tcp.time_delta']):10.3f}  {d}  "
                    f"{flag_names(int(k['tcp.flags'], 16)):12s} {k['tcp.seq']:>6s} {k['tcp.ack']:>6s} "
                    f"{k['tcp.window_size']:>8s} {k['tcp.len']:>6s}  {pl}")
    return rows


def analyse(pkts, port):
    """What the server did at the end, in numbers: who sent the first FIN, the server's RST and
    how long after the server's last data segment it came, and data the server sent after the
    client's FIN."""
    first_fin = last_srv_data = srv_rst = srv_fin = cli_fin = None
    after_cli_fin = 0
    for k in pkts:
        srv = int(k["tcp.srcport"]) == port
        fl, t, n = int(k["tcp.flags"], 16), float(k["tcp.time_relative"]), int(k["tcp.len"] or 0)
        if fl & 0x01 and first_fin is None:
            first_fin = ("server" if srv else "client", t)
        if not srv and fl & 0x01 and cli_fin is None:
            cli_fin = t
        if srv and n > 0:
            last_srv_data = t
            if cli_fin is not None:
                after_cli_fin += n
        if srv and fl & 0x04 and srv_rst is None:
            srv_rst = t
        if srv and fl & 0x01 and srv_fin is None:
            srv_fin = t
    return {"first_fin": first_fin, "last_srv_data": last_srv_data, "srv_rst": srv_rst, "srv_fin": srv_fin,
            "cli_fin": cli_fin, "after_cli_fin": after_cli_fin, "packets": len(pkts)}


def fmt_snap(s, label="ss after"):
    rows = [f"{label}: {s['cmd']} -> states (not counting LISTEN) = {s['server_port_states'] or '{}'}"]
    for l in s.get("this_connection", []):
        rows.append(f"  this connection: {l}")
    if not s.get("this_connection"):
        rows.append("  this connection: (no socket left on either end)")
    for l in s.get("time_wait_on_server_port", []):
        rows.append(f"  TIME_WAIT on the server port: {l}")
    return rows


def render(manifest, pcap, out_path):
    m = json.load(open(manifest))
    port, gskel = m["port"], m["run"].startswith("gskel")
    tv = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    L = [f"# {m['run']} -- generated by docs/captures/capture_closing.sh; do not edit by hand",
         f"# {time.strftime('%Y-%m-%d')}, Linux {os.uname().release}, {tv}",
         f"# server port {port}; capture: tshark -i lo -f 'tcp port {port}' -> {os.path.relpath(pcap, os.path.dirname(out_path))}",
         "# t = seconds since this connection's first packet; dt = ms since its previous packet;",
         "# " + m.get("who", "C = the Python client, S = " + ("gskel-server" if gskel else "the Python contrast server")),
         "# seq/ack relative; win = scaled window; payload = gskel frames decoded (or the raw bytes)"]
    if "config" in m:
        L.append(f"# config over the defaults: {json.dumps(m['config'])}")
    if "sysctl" in m:
        for k, v in m["sysctl"].items():
            L.append(f"# net.{k} = {' '.join(v)}")
    results = {}
    for p in m["paths"]:
        L += ["", "=" * 100, f"({p['key']}) {p['title']}", "=" * 100]
        L += ["step:   " + n for n in p["client"]]
        L += ["server: " + l.split(" level=")[1] if " level=" in l else "server: " + l for l in p.get("server_log", [])]
        for l in p.get("listening", []):
            L.append("server: " + l.split(" level=")[1])
        pk = packets(pcap, p["cport"])
        if p["key"].startswith("buf"):
            L.append("handshake (tshark default summary):")
            L += ["  " + l for l in syn_lines(pcap, p["cport"])]
            L.append(f"accepted socket, ss -tmn state established '( src 127.0.0.1:{port} )' right after LOGIN:")
            L += ["  " + l for l in p["ss_m_before"]]
            L.append("the same socket after the bulk echo:")
            L += ["  " + l for l in p["ss_m_after"]]
            continue
        L.append("wire:")
        L += ["  " + r for r in render_packets(pk, port, gskel)]
        a = analyse(pk, port)
        results[p["key"]] = a
        L.append("  => " + describe(a))
        for key in ("ss_during_grace", "ss_after_shutdown", "ss_after_server_close"):
            if key in p:
                L += fmt_snap(p[key], key.replace("_", " "))
        L += fmt_snap(p["ss_after"])
    with open(out_path, "w") as f:
        f.write("\n".join(L) + "\n")
    return results


def describe(a):
    parts = [f"{a['packets']} packets"]
    if a["first_fin"]:
        parts.append(f"first FIN from the {a['first_fin'][0]}")
    if a["srv_fin"] is not None and a["cli_fin"] is not None:
        d = 1000 * (a["cli_fin"] - a["srv_fin"])
        parts.append(f"server FIN {-d:.3f} ms after the client's" if d <= 0 else
                     f"client FIN {d:.3f} ms after the server's")
    elif a["srv_fin"] is not None:
        parts.append("server FIN, none from the client")
    if a["cli_fin"] is not None:
        parts.append(f"server data after the client's FIN: {a['after_cli_fin']} B")
    if a["srv_rst"] is not None:
        ref = a["last_srv_data"]
        parts.append("server RST" + (f" {1000 * (a['srv_rst'] - ref):.1f} ms after its last data" if ref is not None
                                     else f" at t={a['srv_rst']:.3f} s"))
    return "; ".join(parts)


def compare(out_path, *runs):
    """Each path on each backend, from the captures, with the server port's states after it."""
    res, states = {}, {}
    for name, manifest, pcap, txt in runs:
        res[name] = render(manifest, pcap, txt)
        states[name] = {p["key"]: p["ss_after"]["server_port_states"] for p in json.load(open(manifest))["paths"]}
    names = [n for n, *_ in runs]
    L = ["# gskel closing paths on each backend, from docs/captures/closing-<backend>.txt",
         "# (generated by docs/captures/capture_closing.sh; do not edit by hand)",
         "# last column: states of sockets on the server port after the path, LISTEN not counted", ""]
    for k in res[names[0]]:
        for i, n in enumerate(names):
            flag = ""
            a = res[n].get(k)
            if a is None:
                continue
            if a["first_fin"] and a["first_fin"][0] == "server":
                flag += "  <-- SERVER SENT THE FIRST FIN"
            if any(st in states[n].get(k, {}) for st in ("TIME-WAIT", "CLOSE-WAIT", "FIN-WAIT-2")):
                flag += "  <-- WAIT STATE ON THE SERVER PORT"
            L.append(f"{k if i == 0 else '':4s} {n:9s} {describe(a)}; server port: {states[n].get(k) or '{}'}{flag}")
    with open(out_path, "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "gskel":
        drive_gskel(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif mode == "contrast":
        drive_contrast(int(sys.argv[2]), sys.argv[3])
    elif mode == "uring":
        drive_uring(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif mode == "buffers":
        drive_buffers(int(sys.argv[2]), sys.argv[3])
    elif mode == "render":
        render(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "compare":
        a = sys.argv[3:]
        compare(sys.argv[2], *[tuple(a[i:i + 4]) for i in range(0, len(a), 4)])
PY

# The kernel behaviour behind platform/io_uring.c's close order, shown without gskel: a tiny
# liburing program (compiled here only if cc and liburing are present; the server is never built).
cat >"$WORK/uring_close_demo.c" <<'C'
/* Kernel behaviour behind gskel's io_uring close order (docs/closing.md): with a multishot recv
 * armed, the ring holds a reference to the socket's file, so close() on the fd releases nothing:
 * no RST (nor FIN) goes out until the recv is cancelled. A: close first, cancel later (what gskel
 * avoids). B: cancel, reap, then close (what platform/io_uring.c does). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double t0;
static const char *tag;
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
#define SAY(...) do { printf("%s t=%7.3fs  ", tag, now() - t0); printf(__VA_ARGS__); putchar('\n'); fflush(stdout); } while (0)
#define DIE(what) do { perror(what); exit(1); } while (0)

static const char *client_sees(int c) {
    char b[16];
    ssize_t n = recv(c, b, sizeof b, MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN) return "nothing: the connection is still open";
    if (n < 0 && errno == ECONNRESET) return "ECONNRESET: the RST has arrived";
    if (n == 0) return "end of stream: a FIN arrived";
    return n < 0 ? strerror(errno) : "data";
}

/* Cancels the recv (user_data 1) and reaps until its last completion; bounded. */
static int cancel_and_reap(struct io_uring *ring) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    io_uring_prep_cancel64(sqe, 1, 0);
    io_uring_sqe_set_data64(sqe, 2);
    io_uring_submit(ring);
    int recv_res = 1;
    for (int i = 0; i < 8 && recv_res == 1; i++) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = { .tv_sec = 2 };
        if (io_uring_wait_cqe_timeout(ring, &cqe, &ts) < 0) break;
        if (cqe->user_data == 1 && !(cqe->flags & IORING_CQE_F_MORE)) recv_res = cqe->res;
        io_uring_cqe_seen(ring, cqe);
    }
    return recv_res;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int port = atoi(argv[1]);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4) < 0) DIE("listen");
    struct io_uring ring;
    if (io_uring_queue_init(8, &ring, 0) < 0) DIE("io_uring_queue_init");
    void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static char bufs[4][256];
    struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)mem, .ring_entries = 4, .bgid = 1 };
    if (io_uring_register_buf_ring(&ring, &reg, 0) < 0) DIE("register_buf_ring");
    io_uring_buf_ring_init(mem);
    for (int i = 0; i < 4; i++) io_uring_buf_ring_add(mem, bufs[i], sizeof bufs[i], (unsigned short)i, io_uring_buf_ring_mask(4), i);
    io_uring_buf_ring_advance(mem, 4);

    for (int scenario = 0; scenario < 2; scenario++) {
        tag = scenario == 0 ? "A" : "B";
        t0 = now();
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) DIE("connect");
        int s = accept(l, NULL, NULL);
        struct sockaddr_in ca;
        socklen_t cl = sizeof ca;
        getsockname(c, (struct sockaddr *)&ca, &cl);
        printf("%s cport=%u\n", tag, ntohs(ca.sin_port));
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        io_uring_prep_recv_multishot(sqe, s, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = 1;
        io_uring_sqe_set_data64(sqe, 1);
        io_uring_submit(&ring);
        SAY("server: multishot recv armed on the accepted socket");
        usleep(100000);
        struct linger lg = { 1, 0 };
        setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        if (scenario == 0) {
            close(s);
            SAY("server: SO_LINGER {1,0}, then close(fd) with the recv still armed");
            usleep(500000);
            SAY("client, 500 ms later, sees %s", client_sees(c));
            char cmd[128];
            snprintf(cmd, sizeof cmd, "ss -tanoH '( sport = :%d )' | sed 's/^/A ss: /'", port);
            fflush(stdout);
            if (system(cmd) != 0) {}
            int r = cancel_and_reap(&ring);
            SAY("server: recv cancelled (its last completion: %s)", r == -ECANCELED ? "-ECANCELED" : strerror(-r));
        } else {
            int r = cancel_and_reap(&ring);
            SAY("server: SO_LINGER {1,0}, recv cancelled and reaped (%s), then close(fd)", r == -ECANCELED ? "-ECANCELED" : strerror(-r));
            close(s);
        }
        usleep(20000);
        SAY("client, 20 ms later, sees %s", client_sees(c));
        close(c);
        usleep(200000);
    }
    close(l);
    io_uring_queue_exit(&ring);
    return 0;
}
C

export PYTHONPATH=$ROOT/tests/integration${PYTHONPATH:+:$PYTHONPATH}
export GSKEL_SERVER=$SERVER
DRIVER=(python3 "$WORK/driver.py")

PORT=$(free_port)
for backend in epoll io_uring; do
    echo "== gskel --backend $backend on 127.0.0.1:$PORT"
    start_capture "closing-$backend" "$PORT"
    "${DRIVER[@]}" gskel "$backend" "$PORT" "$WORK/closing-$backend.json"
    stop_capture
done
"${DRIVER[@]}" compare "$HERE/closing-summary.txt" \
    epoll "$WORK/closing-epoll.json" "$PCAPS/closing-epoll.pcap" "$HERE/closing-epoll.txt" \
    io_uring "$WORK/closing-io_uring.json" "$PCAPS/closing-io_uring.pcap" "$HERE/closing-io_uring.txt"

CPORT=$(free_port)
echo "== Python contrast server on 127.0.0.1:$CPORT"
start_capture contrast "$CPORT"
"${DRIVER[@]}" contrast "$CPORT" "$WORK/contrast.json"
stop_capture
"${DRIVER[@]}" render "$WORK/contrast.json" "$PCAPS/contrast.pcap" "$HERE/contrast-linger.txt"

UPORT=$(free_port)
if cc -O2 -o "$WORK/uring_close_demo" "$WORK/uring_close_demo.c" -luring 2>"$WORK/cc.err"; then
    echo "== liburing close demo on 127.0.0.1:$UPORT"
    start_capture uring-close "$UPORT"
    "${DRIVER[@]}" uring "$WORK/uring_close_demo" "$UPORT" "$WORK/uring.json"
    stop_capture
    "${DRIVER[@]}" render "$WORK/uring.json" "$PCAPS/uring-close.pcap" "$HERE/uring-close.txt"
else
    echo "capture_closing.sh: no cc/liburing, uring-close.txt not refreshed:" >&2
    cat "$WORK/cc.err" >&2
fi

BPORT=$(free_port)
echo "== socket buffers on 127.0.0.1:$BPORT"
start_capture buffers "$BPORT"
"${DRIVER[@]}" buffers "$BPORT" "$WORK/buffers.json"
stop_capture
"${DRIVER[@]}" render "$WORK/buffers.json" "$PCAPS/buffers.pcap" "$HERE/buffers.txt"

echo "wrote:"
ls -1 "$HERE"/*.txt

"""A TCP proxy that puts one fault on the stream between a client and the server.

    fault_proxy.py --target HOST:PORT MODE [options]

Modes (each direction is faulted on its own unless --dir says otherwise):
  pass     forward as received (the control case)
  delay    hold every chunk --delay-ms before forwarding it
  dribble  forward one byte per send(), --gap-ms apart, TCP_NODELAY on: the peer reads 1 byte at a time
  stall    forward normally, but once --after bytes have gone one way, forward nothing that way
           for --stall-ms, then go on
  cut      once --after bytes have gone client->server, end the connection: RST both ways
           (SO_LINGER 0, the default), or with --cut-how fin a FIN to the server (then read its
           FIN) and RST to the client: a peer that went away mid-frame, politely or not

Faithful otherwise: a FIN from one side becomes a FIN to the other once what came before it has
been forwarded (half-close kept); a RST from one side becomes a RST to the other, after the
bytes that arrived before it (what a real network in between would show).

It prints `port=N` once listening, then one JSON line per ended connection, and stops by itself:
after --conns connections have ended, or at --lifetime seconds, when it resets whatever is still
open. Python standard library only; one thread per connection, each a selector loop over its two
non-blocking sockets, so a slow side never blocks the other direction."""
import argparse
import errno
import json
import selectors
import socket
import struct
import sys
import threading
import time

MAX_PENDING = 1 << 20  # per direction: stop reading a side while this much waits to go out
TICK_S = 0.05  # longest sleep in a connection loop: bounds how late a deadline is noticed
RESET_ERRNOS = (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ETIMEDOUT)


def abort(sock):
    """Close with RST: SO_LINGER {1, 0} drops the send queue."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class Direction:
    """One way of the stream: bytes read from `src`, faulted, written to `dst`."""

    def __init__(self, name, src, dst, faulted):
        self.name, self.src, self.dst, self.faulted = name, src, dst, faulted
        self.pending = []  # [due_time, bytes] chunks in arrival order
        self.pending_bytes = 0
        self.forwarded = 0
        self.sends = 0
        self.eof = False  # src sent FIN
        self.reset = False  # src sent RST: forward what came before it, then RST dst
        self.shut = False  # FIN passed on to dst
        self.stall_until = None  # stall: set once, when `after` bytes have gone this way
        self.next_send = 0.0  # dribble: when the next byte may go

    def readable(self):
        return not self.eof and not self.reset and self.pending_bytes < MAX_PENDING

    def report(self):
        return {"bytes": self.forwarded, "sends": self.sends, "stalled": self.stall_until is not None}


class Connection(threading.Thread):
    def __init__(self, proxy, client, index):
        super().__init__(daemon=True)
        self.proxy, self.a, self.client, self.index = proxy, proxy.args, client, index

    def run(self):
        try:
            server = socket.create_connection(self.a.target, timeout=10)
        except OSError as e:
            abort(self.client)
            self.proxy.finished({"conn": self.index, "end": "connect_failed", "error": str(e)})
            return
        for s in (self.client, server):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server = server
        self.up = Direction("up", self.client, server, self.a.dir in ("both", "up"))
        self.down = Direction("down", server, self.client, self.a.dir in ("both", "down"))
        try:
            end = self.pump()
        except Exception as e:  # reported, never a silent hang: the test reads this line
            abort(self.client)
            abort(self.server)
            end = f"error: {e!r}"
        self.proxy.finished({"conn": self.index, "end": end, "up": self.up.report(), "down": self.down.report()})

    def pump(self):
        sel = selectors.DefaultSelector()
        try:
            while True:
                now = time.monotonic()
                if now >= self.proxy.deadline:
                    abort(self.client)
                    abort(self.server)
                    return "lifetime"
                end = self.settle()
                if end:
                    return end
                timeout = TICK_S
                wanted = {self.client: 0, self.server: 0}
                for d in (self.up, self.down):
                    if d.readable():
                        wanted[d.src] |= selectors.EVENT_READ
                    due = self.due_time(d)
                    if due is not None:
                        if due <= now:
                            wanted[d.dst] |= selectors.EVENT_WRITE
                        else:
                            timeout = min(timeout, due - now)
                for s, events in wanted.items():
                    if s in sel.get_map():
                        sel.unregister(s)
                    if events:
                        sel.register(s, events)
                for key, events in sel.select(max(timeout, 0.0002)):
                    for d in (self.up, self.down):
                        if key.fileobj is d.src and events & selectors.EVENT_READ:
                            self.read(d)
                        if key.fileobj is d.dst and events & selectors.EVENT_WRITE:
                            end = self.write(d)
                            if end:
                                return end
        finally:
            sel.close()

    def settle(self):
        """Passes FIN and RST on once what came before them has gone; returns how it ended."""
        for d in (self.up, self.down):
            if d.reset and not d.pending:
                abort(d.dst)
                d.src.close()
                return "rst_from_" + ("client" if d is self.up else "server")
            if d.eof and not d.pending and not d.shut:
                d.shut = True
                try:
                    d.dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
        if self.up.shut and self.down.shut:
            self.client.close()
            self.server.close()
            return "fin"
        return None

    def due_time(self, d):
        if not d.pending:
            return None
        due = d.pending[0][0]
        if d.faulted and d.stall_until is not None:
            due = max(due, d.stall_until)
        if d.faulted and self.a.mode == "dribble":
            due = max(due, d.next_send)
        return due

    def read(self, d):
        try:
            data = d.src.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            if e.errno not in RESET_ERRNOS:
                raise
            self.src_reset(d)
            return
        if not data:
            d.eof = True
            return
        delay = self.a.delay_ms / 1000.0 if d.faulted and self.a.mode == "delay" else 0.0
        d.pending.append([time.monotonic() + delay, data])
        d.pending_bytes += len(data)

    def src_reset(self, d):
        """d.src reset: nothing more can reach it, and what came from it goes on, then RST."""
        d.reset = True
        back = self.down if d is self.up else self.up
        back.pending, back.pending_bytes = [], 0

    def limit(self, d):
        """How many bytes the fault lets go in one send now."""
        n = len(d.pending[0][1])
        if not d.faulted and not (self.a.mode == "cut" and d is self.up):
            return n
        if self.a.mode == "dribble":
            return 1
        if self.a.mode == "stall" and d.stall_until is None:
            return min(n, self.a.after - d.forwarded)
        if self.a.mode == "cut" and d is self.up:
            return min(n, self.a.after - d.forwarded)
        return n

    def write(self, d):
        data = d.pending[0][1]
        n = self.limit(d)
        if n > 0:
            try:
                sent = d.dst.send(data[:n])
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                if e.errno not in RESET_ERRNOS:
                    raise
                self.src_reset(self.down if d is self.up else self.up)  # the reset came from dst
                return None
            d.forwarded += sent
            d.sends += 1
            d.pending_bytes -= sent
            if sent == len(data):
                d.pending.pop(0)
            else:
                d.pending[0][1] = data[sent:]
            if d.faulted and self.a.mode == "dribble":
                d.next_send = time.monotonic() + self.a.gap_ms / 1000.0
        if self.a.mode == "stall" and d.faulted and d.stall_until is None and d.forwarded >= self.a.after:
            d.stall_until = time.monotonic() + self.a.stall_ms / 1000.0
        if self.a.mode == "cut" and d is self.up and d.forwarded >= self.a.after:
            return self.cut()
        return None

    def cut(self):
        """RST both ways; or FIN to the server (then wait for its FIN) and RST to the client."""
        abort(self.client)
        if self.a.cut_how == "rst":
            abort(self.server)
            return "cut_rst"
        self.server.setblocking(True)
        self.server.settimeout(max(self.proxy.deadline - time.monotonic(), 0.01))
        try:
            self.server.shutdown(socket.SHUT_WR)
            while self.server.recv(65536):
                pass  # what the server still sends is dropped: the client is gone
            self.server.close()
            return "cut_fin"
        except OSError:
            abort(self.server)
            return "cut_fin_then_rst"


class Proxy:
    def __init__(self, args):
        self.args = args
        self.deadline = time.monotonic() + args.lifetime
        self.lock = threading.Lock()
        self.done = 0
        self.live = []

    def finished(self, report):
        with self.lock:
            self.done += 1
            print(json.dumps(report), flush=True)

    def serve(self):
        a = self.args
        lsock = socket.create_server(a.listen)
        lsock.settimeout(TICK_S)
        print(f"port={lsock.getsockname()[1]}", flush=True)
        accepted = 0
        while time.monotonic() < self.deadline:
            with self.lock:
                if a.conns and self.done >= a.conns:
                    break
            if a.conns and accepted >= a.conns:
                time.sleep(TICK_S)
                continue
            try:
                client, _ = lsock.accept()
            except socket.timeout:
                continue
            conn = Connection(self, client, accepted)
            accepted += 1
            self.live.append(conn)
            conn.start()
        lsock.close()
        for conn in self.live:  # at the lifetime each loop resets its own sockets and returns
            conn.join(timeout=max(self.deadline - time.monotonic(), 0) + 5)
        print(json.dumps({"proxy": "done", "accepted": accepted, "ended": self.done}), flush=True)


def host_port(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["pass", "delay", "dribble", "stall", "cut"])
    ap.add_argument("--listen", type=host_port, default=("127.0.0.1", 0))
    ap.add_argument("--target", type=host_port, required=True)
    ap.add_argument("--dir", choices=["both", "up", "down"], default="both",
                    help="which way is faulted (up: client->server); cut always counts up")
    ap.add_argument("--delay-ms", type=float, default=20.0)
    ap.add_argument("--gap-ms", type=float, default=0.5)
    ap.add_argument("--after", type=int, help="stall/cut: bytes forwarded before the fault")
    ap.add_argument("--stall-ms", type=float, default=1000.0)
    ap.add_argument("--cut-how", choices=["rst", "fin"], default="rst")
    ap.add_argument("--conns", type=int, default=0, help="stop after this many connections ended")
    ap.add_argument("--lifetime", type=float, default=60.0, help="stop after this many seconds")
    args = ap.parse_args(argv)
    if args.mode in ("stall", "cut") and args.after is None:
        ap.error(f"{args.mode} needs --after")
    return args


if __name__ == "__main__":
    Proxy(parse_args(sys.argv[1:])).serve()

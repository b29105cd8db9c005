"""Network namespaces for the netem tests: a server namespace and a client namespace joined by one
veth pair, with addresses of their own and no route to anything else. Faults go on that link:
loss with nftables on a receiver's input hook, a slow link with tc tbf, and the rest through
fault_proxy.py in the client namespace. The server runs in its namespace through the integration
harness; clients run in theirs as subprocesses (netem_client.py), since Python 3.11 has no setns.

Names carry this process's id and a counter, so parallel runs never meet; whatever this module
makes it removes in NetPair.close(), at exit if a test forgot, and at the next start if a run
was killed before either."""
import atexit
import itertools
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import gskel_harness  # noqa: E402
from gskel_harness import TCP_STATES, WAIT_S, Server  # noqa: E402

# The /30 lives only between the two namespaces made here: neither has another interface or a
# default route, so nothing can leave them. Every pair reuses it; namespaces keep pairs apart.
SERVER_ADDR, CLIENT_ADDR, PREFIX = "10.213.0.1", "10.213.0.2", 30
NS_RE = re.compile(r"^gsk-(srv|cli)-(\d+)-\d+$")
CLIENT = os.path.join(HERE, "netem_client.py")
PROXY = os.path.join(HERE, "fault_proxy.py")
SKIP_BANNER = "gskel-netem: skipped:"  # tests/netem/CMakeLists.txt: SKIP_REGULAR_EXPRESSION

_live = set()
_unavailable = None


def sh(*cmd, timeout=30, check=True):
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def _sweep_stale():
    """Namespaces left by a run that was killed (CTest's timeout sends SIGKILL: no atexit)."""
    r = sh("ip", "netns", "list", check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = NS_RE.match(name)
        if m and not os.path.exists(f"/proc/{m.group(2)}"):
            sh("ip", "netns", "del", name, check=False)


def unavailable():
    """None where namespaces can be made here, else why not (the tests skip with it)."""
    global _unavailable
    if _unavailable is None:
        if shutil.which("ip") is None:
            _unavailable = "iproute2's `ip` is not installed (make deps)"
        else:
            name = f"gsk-srv-{os.getpid()}-probe"
            r = sh("ip", "netns", "add", name, check=False)
            if r.returncode == 0:
                sh("ip", "netns", "del", name, check=False)
                _sweep_stale()
                _unavailable = ""
            else:
                _unavailable = f"network namespaces not permitted here (ip netns add: {r.stderr.strip()})"
    return _unavailable or None


def require(tool, package):
    if shutil.which(tool) is None:
        raise unittest.SkipTest(f"`{tool}` not installed: apt-get install {package} (make deps)")


class NetPair:
    """Two namespaces joined by a veth pair: SERVER_ADDR in `srv`, CLIENT_ADDR in `cli`."""
    _seq = itertools.count()

    def __init__(self):
        tag = f"{os.getpid()}-{next(self._seq)}"
        self.srv, self.cli = f"gsk-srv-{tag}", f"gsk-cli-{tag}"
        self.srv_if, self.cli_if = "gsk-s", "gsk-c"  # made inside the namespaces: never in the root one
        _live.add(self)
        try:
            sh("ip", "netns", "add", self.srv)
            sh("ip", "netns", "add", self.cli)
            sh("ip", "link", "add", self.srv_if, "netns", self.srv, "type", "veth",
               "peer", "name", self.cli_if, "netns", self.cli)
            for ns, dev, addr in ((self.srv, self.srv_if, SERVER_ADDR), (self.cli, self.cli_if, CLIENT_ADDR)):
                sh("ip", "-n", ns, "addr", "add", f"{addr}/{PREFIX}", "dev", dev)
                sh("ip", "-n", ns, "link", "set", dev, "up")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
        except Exception:
            self.close()
            raise

    def exec(self, ns):
        return ["ip", "netns", "exec", ns]

    def add_loss(self, port, percent):
        """Drops `percent`% of the connection's packets at each receiver's input hook: the server
        loses client->server packets, the client server->client ones. Dropping on the sender's
        output would make the sender's own stack see a local failure, not a loss on the wire."""
        require("nft", "nftables")
        for ns, match in ((self.srv, f"tcp dport {port}"), (self.cli, f"tcp sport {port}")):
            rules = ("table inet gsk_loss {\n chain input {\n"
                     "  type filter hook input priority 0; policy accept;\n"
                     f"  {match} numgen random mod 100 < {int(percent)} counter drop\n }}\n}}\n")
            r = subprocess.run([*self.exec(ns), "nft", "-f", "-"], input=rules, capture_output=True,
                               text=True, timeout=30)
            if r.returncode != 0:
                raise RuntimeError(f"nft in {ns}: {r.stderr.strip()}")

    def dropped(self):
        """Packets the loss rules dropped so far, both ways together."""
        total = 0
        for ns in (self.srv, self.cli):
            out = sh(*self.exec(ns), "nft", "-j", "list", "table", "inet", "gsk_loss").stdout
            for item in json.loads(out)["nftables"]:
                for expr in item.get("rule", {}).get("expr", []):
                    if "counter" in expr:
                        total += expr["counter"]["packets"]
        return total

    def add_slow_link(self, rate="1mbit", burst="32kbit", latency="400ms"):
        """A token bucket on the server's side of the veth: server->client runs at `rate`."""
        require("tc", "iproute2")
        sh(*self.exec(self.srv), "tc", "qdisc", "add", "dev", self.srv_if, "root", "tbf",
           "rate", rate, "burst", burst, "latency", latency)

    def slow_link_sent_bytes(self):
        """Bytes the token bucket has passed: proof the traffic went through it."""
        out = sh(*self.exec(self.srv), "tc", "-s", "qdisc", "show", "dev", self.srv_if).stdout
        m = re.search(r"qdisc tbf .*?Sent (\d+) bytes", out, re.S)
        return int(m.group(1)) if m else 0

    def tcp_states(self, port):
        """Counts of TCP states of the server namespace's sockets whose local port is `port`."""
        counts = {}
        for path in ("/proc/net/tcp", "/proc/net/tcp6"):
            out = sh(*self.exec(self.srv), "cat", path, check=False).stdout
            for row in out.splitlines()[1:]:
                cols = row.split()
                if len(cols) > 3 and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    state = TCP_STATES.get(cols[3], cols[3])
                    counts[state] = counts.get(state, 0) + 1
        return counts

    def client(self, scenario, *args, timeout=180):
        """Runs netem_client.py SCENARIO in the client namespace; returns its JSON result."""
        cmd = [*self.exec(self.cli), sys.executable, "-u", CLIENT, scenario, *map(str, args)]
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"client {scenario} still running after {timeout}s: {e.stderr}")
        if r.returncode != 0 or not r.stdout.strip():
            raise AssertionError(f"client {scenario} exit {r.returncode}:\n{r.stderr[-3000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])

    def proxy(self, mode, target_port, *args):
        return FaultProxy(self, mode, target_port, args)

    def close(self):
        for ns in (self.cli, self.srv):
            sh("ip", "netns", "del", ns, check=False)
        _live.discard(self)


class FaultProxy:
    """fault_proxy.py running in the client namespace, in front of the server."""

    def __init__(self, pair, mode, target_port, args):
        cmd = [*pair.exec(pair.cli), sys.executable, "-u", PROXY, mode,
               "--target", f"{SERVER_ADDR}:{target_port}", *map(str, args)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], WAIT_S)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("port="):
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"fault proxy did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(line.split("=")[1])

    def reports(self, timeout=WAIT_S * 3):
        """Waits for the proxy to stop by itself; returns its per-connection reports."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"fault proxy still running after {timeout}s:\n{err}")
        lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        if self.proc.returncode != 0 or not lines or lines[-1].get("proxy") != "done":
            raise AssertionError(f"fault proxy exit {self.proc.returncode}:\n{out}\n{err}")
        return [x for x in lines if "conn" in x]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


@atexit.register
def _close_all():
    for pair in list(_live):
        pair.close()


class NsServer(Server):
    """The harness's Server, started inside a namespace and listening on SERVER_ADDR."""

    def __init__(self, ns, overrides=None):
        cfg = {"listen": {"host": SERVER_ADDR}}
        for section, values in (overrides or {}).items():
            cfg[section] = {**cfg.get(section, {}), **values} if isinstance(values, dict) else values
        saved = gskel_harness.SERVER_PREFIX
        gskel_harness.SERVER_PREFIX = ["ip", "netns", "exec", ns]  # execs: the pid is the server's
        try:
            super().__init__(cfg)
        except BaseException:
            if getattr(self, "proc", None) and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            raise
        finally:
            gskel_harness.SERVER_PREFIX = saved


class NetemTestCase(unittest.TestCase):
    """A fresh namespace pair and server per test. At the end the server must stop with exit 0
    and leave neither TIME_WAIT nor CLOSE_WAIT in its namespace."""
    overrides = None

    def setUp(self):
        why = unavailable()
        if why:
            self.skipTest(why)
        self.net = NetPair()
        self.addCleanup(self.net.close)
        self.server = NsServer(self.net.srv, self.overrides)
        self.addCleanup(self._kill_server)
        self.port = self.server.port

    def _kill_server(self):
        if self.server.proc.poll() is None:
            self.server.proc.kill()
            self.server.proc.wait()

    def tearDown(self):
        rc = self.server.stop()
        self.assertEqual(rc, 0, "server exit status\n" + "\n".join(self.server.lines[-20:]))
        self.assert_no_wait_states()

    def states(self):
        return self.net.tcp_states(self.port)

    def assert_no_wait_states(self):
        states = self.states()
        self.assertEqual(states.get("TIME_WAIT", 0), 0, f"TIME_WAIT on the server: {states}")
        self.assertEqual(states.get("CLOSE_WAIT", 0), 0, f"CLOSE_WAIT on the server: {states}")

    def wait_sessions_gone(self):
        """Bounded wait until the server holds no connection on its port (LISTEN aside), LAST_ACK
        included: under loss the client's last ACK may need the server's FIN to be resent."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            states = {k: v for k, v in self.states().items() if k != "LISTEN"}
            if not states:
                return
            time.sleep(0.1)
        raise AssertionError(f"server sockets still open: {states}")

    def client(self, scenario, *args, **kw):
        return self.net.client(scenario, "--host", SERVER_ADDR, "--port", self.port, *args, **kw)

    def proxy(self, mode, *args):
        """A fault proxy in front of the server, stopped at the end of the test at the latest."""
        p = self.net.proxy(mode, self.port, *args)
        self.addCleanup(p.stop)
        return p

    def client_via(self, proxy, scenario, *args, **kw):
        return self.net.client(scenario, "--host", "127.0.0.1", "--port", proxy.port, *args, **kw)


def main():
    why = unavailable()
    if why:
        print(f"{SKIP_BANNER} {why}", flush=True)
    gskel_harness.main()

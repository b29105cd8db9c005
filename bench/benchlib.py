"""Starting servers and running gskel-bench, shared by `make bench` (bench/run_bench.py) and the
bench's CTest checks (bench/tests/bench_smoke.py). Python 3 standard library only.

A server's stderr goes to a file, never to a pipe nobody reads: a server that logs every kick
would otherwise block on a full pipe in the middle of a measurement."""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import time

WAIT_S = 20.0
LISTENING = re.compile(r"event=listening\b.*?\bport=(\d+)")

# What every gskel-server the bench starts runs with, laid over the built-in defaults: loopback,
# any free port, one worker (the bench pins it to one core), no admin port clash, and the
# per-address guards off, because the bench comes from 16 loopback addresses and kicks on purpose:
# a ban or a per-address cap left by one scenario must not shape the next one's figures.
GSKEL_BASE_CONFIG = {
    "listen": {"host": "127.0.0.1", "port": 0},
    "workers": 1,
    "admin": {"port": 0},
    "log": {"level": "info"},
    "guard": {"autoban_kicks": 0, "max_conns_per_ip": 0},
    "auth": {"mode": "none"},  # the login scenario with tickets sets its own
}


def merge(base, over):
    out = json.loads(json.dumps(base))
    for key, value in (over or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


class Server:
    """A server process that prints `event=listening ... port=N` on stderr once it serves."""

    def __init__(self, argv, name, cpu=None, config=None):
        self.name = name
        self.config_path = None
        if config is not None:
            fd, self.config_path = tempfile.mkstemp(prefix="gskel-bench-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump(config, f)
            argv = argv + ["--config", self.config_path]
        self.log = tempfile.NamedTemporaryFile(prefix="gskel-bench-", suffix=".log", mode="w+")
        pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
        # taskset execs the server: the pid is the server's own, as --server-pid needs.
        self.proc = subprocess.Popen(pin + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.log)
        self.port = self._wait_listening()

    def _wait_listening(self):
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            m = LISTENING.search(self.log_text())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} did not start listening:\n{self.log_text()[-2000:]}")

    @property
    def pid(self):
        return self.proc.pid

    def log_text(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM, then SIGKILL after WAIT_S; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        if self.config_path:
            os.unlink(self.config_path)
            self.config_path = None
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.log.close()


def gskel_server(binary, backend, overrides=None, cpu=None):
    return Server([binary, "--backend", backend], f"gskel-server ({backend})", cpu,
                  merge(GSKEL_BASE_CONFIG, overrides))


def ref_server(binary, name, cpu=None):
    return Server([binary, "--port", "0"], name, cpu)


def backend_available(binary, backend):
    """Whether `gskel-server --check-config` accepts the backend here (with the bench's config)."""
    return config_accepted(binary, {"backend": backend})[0]


def write_marked(path, begin, end, text, before=None):
    """Replaces what lies between the markers begin and end in the page at path (other scripts
    write the rest of it). Where the markers are not there yet, the block goes in ahead of the
    marker `before`, or at the end."""
    block = f"{begin}\n{text}{end}\n"
    old = open(path).read() if os.path.exists(path) else ""
    i, j = old.find(begin), old.find(end)
    k = old.find(before) if before else -1
    if i >= 0 and j > i:
        rest = old[j + len(end):]
        new = old[:i] + block + (rest[1:] if rest.startswith("\n") else rest)
    elif k >= 0:
        new = old[:k] + block + "\n" + old[k:]
    else:
        new = old + ("\n" if old and not old.endswith("\n\n") else "") + block
    with open(path, "w") as f:
        f.write(new)


def free_port():
    """A loopback port free now (for the admin endpoint, which has no port 0 of its own)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_accepted(binary, overrides):
    """(True, "") if `gskel-server --check-config` takes the bench's config with these overrides,
    else (False, its one-line reason): a key the server does not know, say."""
    fd, path = tempfile.mkstemp(prefix="gskel-bench-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(merge(GSKEL_BASE_CONFIG, overrides), f)
        r = subprocess.run([binary, "--check-config", "--config", path], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=WAIT_S)
    finally:
        os.unlink(path)
    return r.returncode == 0, (r.stderr.strip().splitlines() or [""])[-1]


def wait_states(port, local=True, settle_s=1.0, host="127.0.0.1"):
    """TIME_WAIT / CLOSE_WAIT sockets whose local (or remote) address is host:port, from
    /proc/net/tcp{,6}, after giving in-flight closes up to settle_s to finish. The address
    counts as well as the port: the bench's clients bind 127.0.0.2.., where the kernel may hand
    one the server's port number (a listener on 127.0.0.1:P does not hold 127.0.0.2:P), and its
    TIME_WAIT is the client's. host None: any address."""
    names = {"06": "TIME_WAIT", "08": "CLOSE_WAIT"}
    want = "%08X" % struct.unpack("<I", socket.inet_aton(host))[0] if host else None
    deadline = time.monotonic() + settle_s
    while True:
        counts = {}
        for path in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(path) as f:
                    rows = f.read().splitlines()[1:]
            except FileNotFoundError:
                continue
            for row in rows:
                cols = row.split()
                ip, hexport = (cols[1] if local else cols[2]).rsplit(":", 1)
                if int(hexport, 16) == port and cols[3] in names and (want is None or ip == want):
                    counts[names[cols[3]]] = counts.get(names[cols[3]], 0) + 1
        if not counts.get("CLOSE_WAIT") or time.monotonic() >= deadline:
            return counts
        time.sleep(0.05)


def run_bench(binary, scenario, port, args=(), cpu=None, timeout=300, progress=False):
    """Runs gskel-bench with --json; returns the parsed figures. Raises with its stderr on
    failure. With progress, its stderr (the live line) goes to ours."""
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    argv = pin + [binary, scenario, "--port", str(port), "--json", *map(str, args)]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=None if progress else subprocess.PIPE, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr or ''}")
    return json.loads(r.stdout.strip().splitlines()[-1])

#!/usr/bin/env python3
"""`make bench`: one run of every benchmark against gskel-server (epoll, and io_uring where it
runs) and the two reference servers (bench/ref/: a bare epoll loop and libuv), alternating
servers inside each round so drift on the machine lands on all of them alike; then the sample
game's players against each gskel backend, its tick time read from the admin endpoint. Each measurement
gets a fresh server pinned to CPU 1 (`taskset -c 1`, workers 1) and the client pinned to CPU 0.
Writes docs/benchmarks.md, its plots (docs/bench/*.png, gnuplot) and the raw figures
(docs/bench/results.json): every number in the doc comes from this run.

  python3 bench/run_bench.py --build build-bench            # the full run (under 10 minutes)
  python3 bench/run_bench.py --build build-bench --quick    # a minute, written under the build dir

Python 3 standard library only."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchdoc  # noqa: E402
import benchlib  # noqa: E402

ROOT = os.path.dirname(HERE)
SERVER_CPU, CLIENT_CPU = 1, 0

# Scenario plans. Paced echo is the figure of merit (server CPU per message at a fixed load), so
# it gets rounds and medians; flat-out throughput on two cores mostly measures the client and is
# reported as noisy.
FULL = {
    "rounds": 3, "warmup": 1.0, "window": 3.0,
    "paced": [  # (label, conns, pipeline, total msgs/s)
        ("100k/s, 100 conns", 100, 1, 100_000),
        ("100k/s, 1,000 conns", 1000, 1, 100_000),
        ("1M/s, 100 conns, pipeline 16", 100, 16, 1_000_000),
    ],
    "flat_conns": [100, 1000, 10000], "flat_pipeline": 8, "flat_rounds": 1,
    "hold_conns": 19000, "hold_s": 2.0,
    "kick_conns": 300,
    "connect_conns": 64, "churn_conns": 64, "loop_window": 2.0,
    "slow_conns": 20,
    # The sample game (server/game/zone.c): players on the server's default world and area of
    # interest, one MOVE per tick at a tenth of game.max_speed, each chatting once a minute (chat
    # is broadcast to everyone: its cost grows with the square of the players).
    "game_players": 2000, "game_hz": 20, "game_speed": 100, "game_chat_every": 1200,
    "game_warmup": 2.0, "game_window": 20.0, "game_tick_p99_target_ms": 10.0,
}
QUICK = dict(FULL, rounds=1, warmup=0.3, window=1.0, flat_conns=[100, 1000], hold_conns=2000,
             hold_s=0.5, loop_window=0.5, slow_conns=4, game_players=500, game_warmup=1.0, game_window=3.0)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Runner:
    def __init__(self, args, plan):
        self.args = args
        self.plan = plan
        b = os.path.join(args.build, "bin")
        self.bin = {name: os.path.join(b, name) for name in
                    ("gskel-server", "gskel-bench", "gskel-ref-epoll", "gskel-ref-uv", "gskel-ticket")}
        self.pin = os.cpu_count() and os.cpu_count() >= 2
        self.results = []   # one dict per measurement
        self.failures = []
        self.servers = self.find_servers()

    def find_servers(self):
        """The servers of this run, in the order each round alternates through them."""
        servers = [("gskel epoll", "gskel", "epoll")]
        srv = self.bin["gskel-server"]
        if benchlib.backend_available(srv, "io_uring"):
            try:  # --check-config accepting it is the promise; starting it is the proof
                with benchlib.gskel_server(srv, "io_uring") as s:
                    if "backend=io_uring" in s.log_text():
                        servers.append(("gskel io_uring", "gskel", "io_uring"))
            except RuntimeError as e:
                self.failures.append(f"gskel io_uring skipped: {e}".splitlines()[0])
        else:
            self.failures.append("gskel io_uring skipped: --check-config refused the backend")
        servers.append(("ref epoll", "ref", self.bin["gskel-ref-epoll"]))
        if os.path.exists(self.bin["gskel-ref-uv"]):
            servers.append(("ref libuv", "ref", self.bin["gskel-ref-uv"]))
        return servers

    def start(self, server, overrides=None):
        name, kind, what = server
        cpu = SERVER_CPU if self.pin else None
        if kind == "gskel":
            return benchlib.gskel_server(self.bin["gskel-server"], what, overrides, cpu)
        return benchlib.ref_server(what, name, cpu)

    def measure(self, section, label, server, scenario, args, keep_log=False, overrides=None):
        """One fresh server, one gskel-bench run; the figures go to self.results."""
        name = server[0]
        log(f"{section}: {label}: {name}")
        rec = {"section": section, "label": label, "server": name, "scenario": scenario,
               "args": [str(a) for a in args]}
        try:
            with self.start(server, overrides) as s:
                if server[1] == "gskel" and "start_line" not in self.__dict__:
                    self.start_line = next((l for l in s.log_text().splitlines() if "event=start" in l), "")
                figures = benchlib.run_bench(self.bin["gskel-bench"], scenario, s.port,
                                             [*args, "--server-pid", s.pid],
                                             cpu=CLIENT_CPU if self.pin else None,
                                             timeout=240, progress=self.args.progress)
                rec["figures"] = figures
                if keep_log:
                    rec["server_log_tail"] = s.log_text().splitlines()[-5:]
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
            rec["error"] = str(e).splitlines()[0][:300]
            self.failures.append(f"{section} / {label} / {name}: {rec['error']}")
            log(f"  FAILED: {rec['error']}")
        self.results.append(rec)
        return rec

    def run(self):
        p = self.plan
        common = ["--warmup", p["warmup"], "--duration", p["window"]]
        # gskel sessions log in, as players do (and as its login timeout expects); the reference
        # servers only echo.
        login = lambda srv: ["--login"] if srv[1] == "gskel" else []
        for label, conns, pipe, rate in p["paced"]:
            for _ in range(p["rounds"]):
                for srv in self.servers:
                    self.measure("paced", label, srv, "echo",
                                 ["--conns", conns, "--pipeline", pipe, "--rate", rate, *common, *login(srv)])
        for conns in p["flat_conns"]:
            for _ in range(p["flat_rounds"]):
                for srv in self.servers:
                    self.measure("flat", f"{conns} conns", srv, "echo",
                                 ["--conns", conns, "--pipeline", p["flat_pipeline"], *common, *login(srv)])
        for srv in self.servers:
            self.measure("hold", f"{p['hold_conns']} idle conns", srv, "hold",
                         ["--conns", p["hold_conns"], "--duration", p["hold_s"], *login(srv)])
        for srv in self.servers:
            self.measure("kick", f"{p['kick_conns']} cheaters", srv, "kick", ["--conns", p["kick_conns"]])
        loop = ["--warmup", min(p["warmup"], 0.5), "--duration", p["loop_window"]]
        for srv in self.servers:
            self.measure("connect", f"{p['connect_conns']} concurrent", srv, "connect",
                         ["--conns", p["connect_conns"], *loop])
        for srv in (s for s in self.servers if s[1] == "gskel"):
            self.measure("churn", f"{p['churn_conns']} concurrent", srv, "churn",
                         ["--conns", p["churn_conns"], *loop])
        self.run_tickets(loop)
        for srv in (s for s in self.servers if s[1] == "gskel"):
            self.measure("slow", f"{p['slow_conns']} slow readers", srv, "slow",
                         ["--conns", p["slow_conns"], "--duration", 20])
        self.run_game()

    def run_tickets(self, loop):
        """Churn again, each LOGIN with a signed ticket (auth.mode "ticket"): what checking one
        costs a worker, beside the name-only churn above."""
        p = self.plan
        keys = tempfile.TemporaryDirectory(prefix="gskel-bench-keys-")
        secret, public = os.path.join(keys.name, "bench.key"), os.path.join(keys.name, "bench.pub")
        r = subprocess.run([self.bin["gskel-ticket"], "--new-key", "1", "--key", secret, "--public", public],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.failures.append(f"signed logins skipped: gskel-ticket --new-key: {r.stderr.strip()}")
            return
        with keys:
            for srv in (s for s in self.servers if s[1] == "gskel"):
                self.measure("tickets", f"{p['churn_conns']} concurrent, signed tickets", srv, "churn",
                             ["--conns", p["churn_conns"], *loop, "--ticket-key", secret],
                             overrides={"auth": {"mode": "ticket", "key_file": public}})

    def run_game(self):
        """The sample game on each gskel backend: its tick time and sends, from the admin endpoint."""
        p = self.plan
        game = {"game": {"zone_enabled": True, "tick_hz": p["game_hz"]}}
        ok, why = benchlib.config_accepted(self.bin["gskel-server"], game)
        if not ok:
            self.failures.append(f"game skipped: the server refuses game.zone_enabled ({why})")
            return
        for srv in (s for s in self.servers if s[1] == "gskel"):
            admin = benchlib.free_port()
            self.measure("game", f"{p['game_players']:,} players, {p['game_hz']} Hz", srv, "game",
                         ["--conns", p["game_players"], "--tick-hz", p["game_hz"], "--speed", p["game_speed"],
                          "--chat-every", p["game_chat_every"], "--warmup", p["game_warmup"],
                          "--duration", p["game_window"], "--admin-port", admin],
                         overrides=dict(game, admin={"port": admin}))


def machine():
    def read(path, default=""):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return default
    model = next((l.split(":", 1)[1].strip() for l in read("/proc/cpuinfo").splitlines()
                  if l.startswith("model name")), "unknown")
    mem_kb = next((int(l.split()[1]) for l in read("/proc/meminfo").splitlines()
                   if l.startswith("MemTotal:")), 0)
    git = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain"], capture_output=True, text=True)
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": os.uname().release,
        "mem_gib": round(mem_kb / 1024 / 1024, 1),
        "loadavg": read("/proc/loadavg").split()[:3],
        "git": (git.stdout.strip() or "unknown") + (" (uncommitted changes)" if dirty.stdout.strip() else ""),
        "nofile": subprocess.run(["sh", "-c", "ulimit -n"], capture_output=True, text=True).stdout.strip(),
    }


def summarize(results):
    """Medians per (section, label, server) over rounds, with the spread of CPU/msg."""
    groups = {}
    for r in results:
        groups.setdefault((r["section"], r["label"], r["server"]), []).append(r)
    out = []
    for (section, label, server), runs in groups.items():
        ok = [r["figures"] for r in runs if "figures" in r]
        row = {"section": section, "label": label, "server": server, "runs": len(runs), "ok": len(ok)}
        a = runs[0]["args"]
        row["req_conns"] = int(a[a.index("--conns") + 1]) if "--conns" in a else None
        if ok:
            for key in ok[0]:
                vals = [f[key] for f in ok if isinstance(f.get(key), (int, float)) and not isinstance(f.get(key), bool)]
                if vals:
                    row[key] = statistics.median(vals)
                    row[key + "_min"], row[key + "_max"] = min(vals), max(vals)
                elif isinstance(ok[0][key], bool):
                    row[key] = all(f[key] for f in ok)
            row["errors"] = sum(f.get("errors", 0) for f in ok)
        out.append(row)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build-bench", help="CMake build dir holding bin/ (Release)")
    ap.add_argument("--quick", action="store_true", help="short windows, one round (development)")
    ap.add_argument("--out", help="where benchmarks.md and bench/ go (default: docs/, or BUILD/bench-quick/ with --quick)")
    ap.add_argument("--progress", action="store_true", help="show gskel-bench's live line")
    ap.add_argument("--redraw", metavar="RESULTS_JSON",
                    help="rewrite the doc and plots from an earlier run's results.json, measuring nothing")
    args = ap.parse_args()
    if args.redraw:
        with open(args.redraw) as f:
            old = json.load(f)
        out = args.out or os.path.dirname(os.path.dirname(os.path.abspath(args.redraw)))
        servers = list(dict.fromkeys(r["server"] for r in old["runs"]))
        failures = [n for n in old["machine"].get("failures", [])]
        benchdoc.write(out, old["machine"], old["plan"], servers, summarize(old["runs"]), old["runs"], failures)
        log(f"redrawn: {os.path.join(out, 'benchmarks.md')}")
        return 0
    out = args.out or (os.path.join(args.build, "bench-quick") if args.quick else os.path.join(ROOT, "docs"))
    for name in ("gskel-server", "gskel-bench", "gskel-ref-epoll"):
        if not os.path.exists(os.path.join(args.build, "bin", name)):
            sys.exit(f"run_bench.py: {args.build}/bin/{name} missing: build first (make bench does)")
    t0 = time.monotonic()
    info = machine()
    info["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    info["command"] = "make bench" + (" BENCH_ARGS=--quick" if args.quick else "")
    info["script"] = "python3 bench/run_bench.py --build " + args.build + (" --quick" if args.quick else "")
    info["quick"] = args.quick
    runner = Runner(args, QUICK if args.quick else FULL)
    log("servers: " + ", ".join(s[0] for s in runner.servers))
    runner.run()
    info["seconds"] = round(time.monotonic() - t0)
    info["loadavg_after"] = machine()["loadavg"]
    info["server_start_line"] = getattr(runner, "start_line", "")
    info["server_config"] = benchlib.GSKEL_BASE_CONFIG
    info["pinned"] = bool(runner.pin)
    info["failures"] = runner.failures
    summary = summarize(runner.results)
    benchdoc.write(out, info, runner.plan, [s[0] for s in runner.servers], summary, runner.results,
                   runner.failures)
    log(f"done in {info['seconds']} s: {os.path.join(out, 'benchmarks.md')}")
    for f in runner.failures:
        log("note: " + f)
    return 1 if any("skipped" not in f for f in runner.failures) else 0


if __name__ == "__main__":
    sys.exit(main())

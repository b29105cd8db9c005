#!/usr/bin/env python3
"""`make bench-storm`: what a storm of closes costs each gskel backend, against the number of
connections (issue 20: an io_uring kick cost grew with the connections held, so a kick storm was
quadratic). Two measurements, each on a fresh server pinned to CPU 1 (`taskset -c 1`, workers 1,
the bench's config) with the client on CPU 0:

- kick storm: `gskel-bench kick --at-once --conns N` for each N: N connections, then N bad frames
  sent while the server is stopped, so it finds all N kicks waiting at once; each is answered with
  RST. The server's CPU per kick (till 50 ms after the last reset), as medians over the rounds,
  and the ratio of N's to the smallest N's.
- shutdown: N logged-in sessions (`gskel-bench hold --login`) that never close, then SIGTERM: the
  server kicks each with notice, waits `close_grace_ms`, resets them all and exits. Reported: the
  seconds from the signal to the exit, those beyond the grace, and the server's CPU in between.

Writes its section of docs/benchmarks.md (between the storm markers; `make bench` keeps it) and
the raw figures to docs/bench/storm.json. Python 3 standard library only.

  python3 bench/run_storm.py --build build-bench [--server OTHER/gskel-server --label before]"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchdoc  # noqa: E402
import benchlib  # noqa: E402
import run_bench  # noqa: E402

ROOT = os.path.dirname(HERE)
BEGIN, END = "<!-- storm:begin -->", "<!-- storm:end -->"
KICK_CONNS = [1000, 4000, 16000]
SHUTDOWN_CONNS = 16000
GRACE_MS = 1000
RATIO_LIMIT = 1.5  # issue 20: CPU per kick at the largest N over that at the smallest


def log(msg):
    print(f"[storm {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def proc_ticks(pid):
    """utime + stime of the whole process, in clock ticks (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


class Storm:
    def __init__(self, args):
        self.args = args
        self.bench = os.path.join(args.build, "bin", "gskel-bench")
        self.server = args.server or os.path.join(args.build, "bin", "gskel-server")
        self.pin = (os.cpu_count() or 1) >= 2
        self.cpu = lambda which: which if self.pin else None
        self.backends = [b for b in ("epoll", "io_uring") if benchlib.backend_available(self.server, b)]
        self.kicks, self.shutdowns, self.failures = [], [], []

    def kick(self, backend, conns):
        with benchlib.gskel_server(self.server, backend, None, self.cpu(run_bench.SERVER_CPU)) as s:
            return benchlib.run_bench(self.bench, "kick", s.port, ["--at-once", "--conns", conns, "--server-pid", s.pid],
                                      cpu=self.cpu(run_bench.CLIENT_CPU), timeout=240)

    def shutdown(self, backend, conns):
        """Seconds from SIGTERM to the exit, and the server's CPU seconds in between."""
        over = {"session": {"close_grace_ms": GRACE_MS}}
        s = benchlib.gskel_server(self.server, backend, over, self.cpu(run_bench.SERVER_CPU))
        hold = None
        try:
            base = open_fds(s.pid)
            hold = subprocess.Popen(
                (["taskset", "-c", str(run_bench.CLIENT_CPU)] if self.pin else [])
                + [self.bench, "hold", "--port", str(s.port), "--conns", str(conns), "--login", "--duration", "10",
                   "--json"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while open_fds(s.pid) < base + conns:
                if time.monotonic() > deadline or hold.poll() is not None:
                    raise RuntimeError(f"{conns} sessions never came up ({open_fds(s.pid) - base} did)")
                time.sleep(0.1)
            time.sleep(0.5)  # the last logins answered
            ticks0 = proc_ticks(s.pid)
            t0 = time.monotonic()
            os.kill(s.pid, signal.SIGTERM)
            _, status, usage = os.wait4(s.pid, 0)
            seconds = time.monotonic() - t0
            s.proc.returncode = os.waitstatus_to_exitcode(status)
            cpu = usage.ru_utime + usage.ru_stime - ticks0 / os.sysconf("SC_CLK_TCK")
            return {"seconds": seconds, "beyond_grace_s": seconds - GRACE_MS / 1000, "server_cpu_s": cpu,
                    "exit_status": s.proc.returncode}
        finally:
            s.stop()
            s.log.close()
            if hold:
                hold.wait(timeout=60)  # its window ends by itself; the server's resets made it fail

    def measure(self, into, what, fn, backend, conns):
        """One measurement; its figures, or its error, go to the list `into`."""
        log(f"{what}: {conns} conns: {backend}")
        rec = {"backend": backend, "conns": conns}
        try:
            rec["figures"] = fn(backend, conns)
        except (RuntimeError, subprocess.TimeoutExpired, ValueError, OSError) as e:
            rec["error"] = str(e).splitlines()[0][:300]
            self.failures.append(f"{what} {conns} {backend}: {rec['error']}")
        into.append(rec)

    def run(self):
        for r in range(self.args.rounds):
            for conns in KICK_CONNS:
                for backend in self.backends:  # alternated inside each round: drift lands on both
                    self.measure(self.kicks, f"kick round {r + 1}", self.kick, backend, conns)
        for backend in self.backends:
            self.measure(self.shutdowns, "shutdown", self.shutdown, backend, SHUTDOWN_CONNS)

    def kick_rows(self):
        """Medians per (backend, conns) of the CPU per kick, with the spread and the ratio."""
        out = {}
        for b in self.backends:
            for n in KICK_CONNS:
                runs = [k["figures"] for k in self.kicks if k["backend"] == b and k["conns"] == n and "figures" in k]
                cpu = [f["server_cpu_us_per_kick"] for f in runs if "server_cpu_us_per_kick" in f]
                out[b, n] = {
                    "cpu": statistics.median(cpu) if cpu else None, "min": min(cpu, default=None),
                    "max": max(cpu, default=None), "runs": len(runs),
                    "resets": sum(f.get("resets_seen", 0) for f in runs), "kicked": sum(f.get("kicked", 0) for f in runs),
                    "fins": sum(f.get("eofs_seen", 0) for f in runs),
                    "time_wait": max((f.get("server_time_wait", 0) for f in runs), default=0),
                    "seconds": statistics.median([f["seconds"] for f in runs]) if runs else None,
                    "errors": sum(f.get("errors", 0) for f in runs)}
        return out

    def section(self, info):
        rows, fmt = self.kick_rows(), benchdoc.fmt
        body = []
        for b in self.backends:
            first = rows[b, KICK_CONNS[0]]["cpu"]
            for n in KICK_CONNS:
                r = rows[b, n]
                spread = f" ({fmt(r['min'], 1)}–{fmt(r['max'], 1)})" if r["runs"] > 1 else ""
                body.append([self.label(b), fmt(n), fmt(r["cpu"], 1) + spread,
                             benchdoc.ratio(r["cpu"], first), f"{fmt(r['resets'])} / {fmt(r['kicked'])}",
                             fmt(r["fins"]), fmt(r["time_wait"]), fmt(r["seconds"], 3), r["errors"]])
        verdicts = []
        for b in self.backends:
            lo, hi = rows[b, KICK_CONNS[0]]["cpu"], rows[b, KICK_CONNS[-1]]["cpu"]
            if lo and hi:
                verdicts.append(f"{self.label(b)} {hi / lo:.2f}" + (" (over the limit)" if hi / lo > RATIO_LIMIT else ""))
        sd = []
        for rec in self.shutdowns:
            f = rec.get("figures")
            sd.append([self.label(rec["backend"]), fmt(rec["conns"])] +
                      ([fmt(f["seconds"], 2), fmt(f["beyond_grace_s"], 2), fmt(f["server_cpu_s"], 2), f["exit_status"]]
                       if f else ["failed", "", "", ""]))
        notes = "".join(f"- {x}\n" for x in self.failures) or "- none\n"
        return f"""## Close storms: cost against connections

_Generated by `make bench-storm` (`{info['script']}`) on {info['date']}, in {info['seconds']} s, commit
{info['git']}; the raw figures are in [bench/storm.json](bench/storm.json). Do not edit: rerun._
On {info['nproc']} CPUs ({info['cpu']}, Linux {info['kernel']}, load average {" ".join(info['loadavg'])} before), a
noisy box other work shares: read CPU per kick as ±15%. Server on CPU 1, client on CPU 0, a fresh
server each run, the config above.

**Kick storm** (`gskel-bench kick --at-once --conns N`): N connections proven by an ECHO each,
then N bad frames sent while the server is stopped (SIGSTOP), so that it finds all N kicks
waiting at once when it goes on (SIGCONT); each must be answered with RST. Server CPU (all
threads, `/proc/PID/task/*/schedstat`) from then until 50 ms after the last reset, per kick;
median of {self.args.rounds} rounds (min–max: the spread is wide on this box, compare medians).
"× N={fmt(KICK_CONNS[0])}" is the CPU per kick over that at {fmt(KICK_CONNS[0])} connections: a close that cost
more with more connections held shows here (limit {RATIO_LIMIT}).

{benchdoc.table(["server", "N", "server CPU µs/kick (min–max)", f"× N={fmt(KICK_CONNS[0])}", "resets seen / kicked",
                 "FIN seen", "server TIME_WAIT", "seconds (median)", "errors"], body)}
CPU per kick at {fmt(KICK_CONNS[-1])} over that at {fmt(KICK_CONNS[0])}: {", ".join(verdicts) or "n/a"}.

**Shutdown** with {fmt(SHUTDOWN_CONNS)} logged-in sessions that never close (`gskel-bench hold --login`),
`session.close_grace_ms` {GRACE_MS}: SIGTERM, then every session is kicked with notice, given the
grace, and reset. Seconds from the signal to the server's exit; "beyond the grace" takes
{GRACE_MS / 1000:g} s off; CPU is the server's from the signal to its exit (`/proc/PID/stat`, then `wait4`).

{benchdoc.table(["server", "sessions", "seconds to exit", "beyond the grace", "server CPU s", "exit status"], sd)}
Notes from this run:

{notes}"""

    def label(self, backend):
        return f"gskel {backend}" + (f" ({self.args.label})" if self.args.label else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build-bench", help="CMake build dir holding bin/ (Release)")
    ap.add_argument("--server", help="another gskel-server to measure (default: the build's)")
    ap.add_argument("--label", default="", help="said after each server's name (with --server: which build)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", help="where benchmarks.md and bench/ are (default: docs/); '-' prints only")
    args = ap.parse_args()
    t0 = time.monotonic()
    info = run_bench.machine()
    info["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    info["script"] = "python3 bench/run_storm.py --build " + args.build + (f" --server {args.server}" if args.server else "")
    storm = Storm(args)
    log("backends: " + ", ".join(storm.backends))
    storm.run()
    info["seconds"] = round(time.monotonic() - t0)
    text = storm.section(info)
    if args.out == "-":
        print(text)
        print(json.dumps({"kicks": storm.kicks, "shutdowns": storm.shutdowns}))
    else:
        out = args.out or os.path.join(ROOT, "docs")
        os.makedirs(os.path.join(out, "bench"), exist_ok=True)
        with open(os.path.join(out, "bench", "storm.json"), "w") as f:
            json.dump({"machine": info, "kicks": storm.kicks, "shutdowns": storm.shutdowns}, f, indent=1)
        benchlib.write_marked(os.path.join(out, "benchmarks.md"), BEGIN, END, text, before="<!-- soak:begin -->")
        log(f"done in {info['seconds']} s: {os.path.join(out, 'benchmarks.md')}")
    for f in storm.failures:
        log("note: " + f)
    return 1 if storm.failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Writes docs/benchmarks.md, its gnuplot plots and the raw figures from one run_bench.py run.
Nothing here measures and nothing is typed in by hand: every number comes from the run passed in,
so the doc is regenerated, never edited."""
import json
import os
import subprocess
import tempfile

REF, LIBUV = "ref epoll", "ref libuv"


def fmt(v, digits=0, unit=""):
    if v is None or v != v:
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "**no**"
    if digits == 0:
        return f"{v:,.0f}{unit}"
    return f"{v:,.{digits}f}{unit}"


def ratio(a, b):
    if a is None or b is None or not b:
        return "n/a"
    return f"{a / b:.2f}×"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def rows_of(summary, section):
    return [r for r in summary if r["section"] == section]


def labels_of(rows):
    seen = []
    for r in rows:
        if r["label"] not in seen:
            seen.append(r["label"])
    return seen


def find(rows, label, server):
    return next((r for r in rows if r["label"] == label and r["server"] == server), None)


def paced_section(summary, servers):
    rows = rows_of(summary, "paced")
    md = []
    for label in labels_of(rows):
        body = []
        ref, uv = find(rows, label, REF), find(rows, label, LIBUV)
        for s in servers:
            r = find(rows, label, s)
            if not r or not r.get("ok"):
                body.append([s] + ["failed"] + [""] * 8)
                continue
            cpu = r.get("server_cpu_us_per_msg")
            spread = f" ({fmt(r.get('server_cpu_us_per_msg_min'), 2)}–{fmt(r.get('server_cpu_us_per_msg_max'), 2)})" \
                if r["ok"] > 1 else ""
            body.append([s, fmt(r.get("msgs_per_sec")), fmt(r.get("rate_reached")), fmt(cpu, 2) + spread,
                         ratio(cpu, ref and ref.get("server_cpu_us_per_msg")),
                         ratio(cpu, uv and uv.get("server_cpu_us_per_msg")),
                         fmt(r.get("p50_us"), 1), fmt(r.get("p99_us"), 1), fmt(r.get("p999_us"), 1), r["errors"]])
        md.append(f"### {label}\n\n" + table(
            ["server", "msgs/s reached", "rate reached", "server CPU µs/msg (min–max)", "vs ref epoll",
             "vs libuv", "p50 µs", "p99 µs", "p99.9 µs", "errors"], body))
    return "\n".join(md)


def flat_section(summary, servers):
    rows = rows_of(summary, "flat")
    body = []
    for label in labels_of(rows):
        ref = find(rows, label, REF)
        for s in servers:
            r = find(rows, label, s)
            if not r or not r.get("ok"):
                body.append([label, s, "failed", "", "", "", "", ""])
                continue
            body.append([label, s, fmt(r.get("msgs_per_sec")), ratio(r.get("msgs_per_sec"), ref and ref.get("msgs_per_sec")),
                         fmt(r.get("server_cpu_util"), 2), fmt(r.get("p50_us"), 1), fmt(r.get("p99_us"), 1), r["errors"]])
    return table(["connections", "server", "msgs/s", "vs ref epoll", "server CPU (cores)", "p50 µs", "p99 µs",
                  "errors"], body)


def simple_section(summary, section, servers, cols):
    """cols: (heading, key, digits)."""
    rows = rows_of(summary, section)
    body = []
    for label in labels_of(rows):
        for s in servers:
            r = find(rows, label, s)
            if r is None:
                continue
            if not r.get("ok"):
                body.append([s, label, "failed"] + [""] * (len(cols) - 1))
                continue
            body.append([s, label] + [fmt(r.get(k), d) if k != "errors" else r["errors"] for _, k, d in cols])
    return table(["server", "run"] + [c[0] for c in cols], body)


def ticket_cost(summary, servers):
    """One line per backend: CPU per login with a ticket against the name-only churn's."""
    lines = []
    for s in servers:
        t = next((r for r in rows_of(summary, "tickets") if r.get("server") == s and r.get("ok")), None)
        c = next((r for r in rows_of(summary, "churn") if r.get("server") == s and r.get("ok")), None)
        if not t or not c or not t.get("server_cpu_us_per_loop") or not c.get("server_cpu_us_per_loop"):
            continue
        tc, cc = t["server_cpu_us_per_loop"], c["server_cpu_us_per_loop"]
        lines.append(f"- **{s}**: {fmt(tc, 1)} µs of server CPU per login with a ticket against {fmt(cc, 1)} µs by name "
                     f"({tc / cc:.2f}x; the check adds {fmt(tc - cc, 1)} µs): one worker's core takes about "
                     f"{fmt(1e6 / tc, 0)} ticket logins per second, connect and close included.")
    return "\n".join(lines) + ("\n" if lines else "")


def game_section(summary, servers, p):
    """The sample game's run, or why there is none (results from before it existed included)."""
    rows = rows_of(summary, "game")
    if not rows:
        return "_Not run (see the notes below)._\n"
    target = p.get("game_tick_p99_target_ms", 10.0)
    body = []
    for label in labels_of(rows):
        for s in servers:
            r = find(rows, label, s)
            if r is None:
                continue
            if not r.get("ok"):
                body.append([s, label, "failed"] + [""] * 11)
                continue
            p99 = r.get("tick_p99_ms")
            body.append([s, fmt(r.get("players")), fmt(r.get("tick_p50_ms"), 2), fmt(p99, 2),
                         fmt(p99 is not None and p99 <= target), fmt(r.get("server_ticks_per_sec"), 1),
                         fmt((r.get("bytes_per_sec") or 0) / 1e6, 2), fmt(r.get("frames_per_send"), 2),
                         fmt(r.get("snapshots_per_player_per_sec"), 2), fmt(r.get("snapshot_entries_avg"), 1),
                         fmt(r.get("snapshots_missed")), fmt(r.get("moves_rate_reached")),
                         fmt(r.get("server_cpu_util"), 2), r["errors"]])
    return table(["server", "players", "tick p50 ms", "tick p99 ms", f"p99 ≤ {target:g} ms", "server ticks/s",
                  "MB/s sent", "frames/send", "snapshots/player/s", "entries/snapshot", "snapshots missed",
                  "client kept up", "server CPU (cores)", "errors"], body)


def gnuplot(out_dir, name, script, data):
    """Renders one PNG; returns its file name, or None when gnuplot is missing or fails."""
    with tempfile.TemporaryDirectory() as tmp:
        for fname, text in data.items():
            with open(os.path.join(tmp, fname), "w") as f:
                f.write(text)
        png = os.path.abspath(os.path.join(out_dir, name))  # gnuplot runs in the data's directory
        head = f"set terminal pngcairo noenhanced size 900,520 font 'sans,10'\nset output '{png}'\nset key outside right top\n" \
               "set grid\n"
        try:
            r = subprocess.run(["gnuplot"], input=(head + script).encode(), cwd=tmp, capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return name if r.returncode == 0 and os.path.exists(png) else None


def series(rows, servers, xkey, ykey):
    """A data file: x, then one column per server ("NaN" where missing)."""
    xs = sorted({r.get(xkey) for r in rows if r.get(xkey) is not None})
    lines = ["x " + " ".join(f'"{s}"' for s in servers)]
    for x in xs:
        vals = []
        for s in servers:
            r = next((r for r in rows if r["server"] == s and r.get(xkey) == x and r.get(ykey) is not None), None)
            vals.append(str(r[ykey]) if r else "NaN")
        lines.append(f"{x} " + " ".join(vals))
    return "\n".join(lines) + "\n", len(servers) + 1


def plots(out_dir, summary, servers):
    made = {}
    paced = [r for r in rows_of(summary, "paced") if r.get("pipeline") == 1 and r.get("ok")]
    data, ncol = series(paced, servers, "req_conns", "server_cpu_us_per_msg")
    made["cpu"] = gnuplot(out_dir, "cpu_per_msg.png",
                          "set title 'Paced echo (pipeline 1): server CPU per message'\nset logscale x\n"
                          "set xlabel 'connections'\nset ylabel 'server CPU µs / msg'\nset yrange [0:*]\n"
                          f"plot for [i=2:{ncol}] 'd.dat' using 1:i with linespoints lw 2 title columnheader(i)\n",
                          {"d.dat": data})
    flat = [r for r in rows_of(summary, "flat") if r.get("ok")]
    data, ncol = series(flat, servers, "req_conns", "msgs_per_sec")
    made["throughput"] = gnuplot(out_dir, "throughput.png",
                                 "set title 'Flat-out echo: throughput (noisy on 2 cores)'\nset logscale x\n"
                                 "set xlabel 'connections'\nset ylabel 'msgs/s'\nset yrange [0:*]\n"
                                 f"plot for [i=2:{ncol}] 'd.dat' using 1:i with linespoints lw 2 title columnheader(i)\n",
                                 {"d.dat": data})
    made["latency"] = []
    for n, label in enumerate(labels_of(rows_of(summary, "paced"))):
        lines = []
        for s in servers:
            r = find(rows_of(summary, "paced"), label, s)
            if r and r.get("ok"):
                lines.append(f'"{s}" {r.get("p50_us", "NaN")} {r.get("p99_us", "NaN")} {r.get("p999_us", "NaN")}')
        name = gnuplot(out_dir, f"latency_{n + 1}.png",
                       f"set title 'Paced echo, {label}: latency percentiles'\nset style data histograms\n"
                       "set style histogram clustered gap 1\nset style fill solid 0.85 border -1\n"
                       "set logscale y\nset ylabel 'µs (log)'\n"
                       "plot 'd.dat' using 2:xtic(1) title 'p50', '' using 3 title 'p99', '' using 4 title 'p99.9'\n",
                       {"d.dat": "\n".join(lines) + "\n"})
        if name:
            made["latency"].append((label, name))
    return made


def conclusions(summary):
    """What the run says about issue 3's questions, in words computed from its own figures."""
    out = []
    paced = rows_of(summary, "paced")
    for server in ("gskel io_uring", "gskel epoll"):
        vs_ref, vs_uv = [], []
        for label in labels_of(paced):
            r, ref, uv = find(paced, label, server), find(paced, label, REF), find(paced, label, LIBUV)
            cpu = r and r.get("ok") and r.get("server_cpu_us_per_msg")
            if cpu and ref and ref.get("server_cpu_us_per_msg"):
                vs_ref.append(cpu / ref["server_cpu_us_per_msg"])
            if cpu and uv and uv.get("server_cpu_us_per_msg"):
                vs_uv.append(cpu / uv["server_cpu_us_per_msg"])
        if vs_ref:
            verdict = ("beats the bare loop in every paced case" if max(vs_ref) < 1.0 else
                       "is within 1.1x of the bare loop in every paced case" if max(vs_ref) <= 1.1 else
                       f"is over 1.1x of the bare loop in {sum(v > 1.1 for v in vs_ref)} of {len(vs_ref)} paced cases")
            out.append(f"- **{server}** used {min(vs_ref):.2f}-{max(vs_ref):.2f}x the bare epoll loop's server CPU per "
                       f"message and {min(vs_uv):.2f}-{max(vs_uv):.2f}x libuv's: it {verdict}"
                       + (f", by {100 * (1 - max(vs_ref)):.0f}-{100 * (1 - min(vs_ref)):.0f}%." if max(vs_ref) < 1.0 else "."))
    hold = rows_of(summary, "hold")
    labels = labels_of(hold)
    if labels:
        ur, ep = find(hold, labels[0], "gskel io_uring"), find(hold, labels[0], "gskel epoll")
        if ur and ep and ur.get("ok") and ep.get("ok"):
            slab = (ur.get("kernel_slab_bytes_per_conn") or 0) - (ep.get("kernel_slab_bytes_per_conn") or 0)
            rss = (ur.get("server_rss_bytes_per_conn") or 0) - (ep.get("server_rss_bytes_per_conn") or 0)
            out.append(
                f"- **Idle connections and the armed multishot recv**: with {fmt(ur.get('conns'))} idle connections, "
                + (f"io_uring's kernel memory per connection is {fmt(slab)} bytes above epoll's (the recv armed on each "
                   "idle socket)" if slab > 0 else
                   f"io_uring's kernel memory per connection is not above epoll's in this run ({fmt(slab)} bytes: the "
                   "recv armed on each idle socket is within the noise of the machine-wide Slab figure)")
                + f" and its server RSS {fmt(rss)} bytes above (the provided-buffer ring, a fixed "
                "`io.recv_buffers` x `io.recv_buffer_bytes` per worker spread over the connections). gskel keeps the "
                "recv armed: disarming an idle connection would cost a cancel and a re-arm (two submissions and two "
                "completions) whenever it speaks again, and a timer to decide it is idle, to save less than the "
                "socket itself costs the kernel.")
    return "\n".join(out) + "\n" if out else "- no paced or hold figures in this run\n"


def notes(summary, failures, tick_target_ms=10.0):
    out = []
    paced = rows_of(summary, "paced")
    for label in labels_of(paced):
        short = [r for r in paced if r["label"] == label and r.get("ok") and r.get("rate_reached") is False]
        if short:
            got = ", ".join(f"{r['server']} {fmt(r.get('msgs_per_sec'))}" for r in short)
            out.append(f"- {label}: the rate asked for ({fmt(short[0].get('target_rate'))} msgs/s) was not reached "
                       f"(median msgs/s: {got}); CPU/msg is still per message actually served, at that load.")
    for r in rows_of(summary, "game"):
        if r.get("ok") and r.get("tick_p99_ms") is not None and r["tick_p99_ms"] > tick_target_ms:
            out.append(f"- game / {r['label']} / {r['server']}: tick p99 {fmt(r['tick_p99_ms'], 2)} ms is over "
                       f"the {tick_target_ms:g} ms target.")
    for r in summary:
        if r.get("ok") and r.get("errors"):
            out.append(f"- {r['section']} / {r['label']} / {r['server']}: {r['errors']} errors (lost replies, "
                       "failed connects or unexpected closes).")
        if r.get("ok") and r.get("server_time_wait"):
            out.append(f"- {r['section']} / {r['label']} / {r['server']}: {fmt(r['server_time_wait'])} TIME_WAIT "
                       "sockets left on the server's port.")
    out += [f"- {f}" for f in failures]
    return "\n".join(out) + "\n" if out else "- none\n"


def write(out_dir, info, plan, servers, summary, results, failures):
    img_dir = os.path.join(out_dir, "bench")
    os.makedirs(img_dir, exist_ok=True)
    with open(os.path.join(img_dir, "results.json"), "w") as f:
        json.dump({"machine": info, "plan": plan, "summary": summary, "runs": results}, f, indent=1)
    made = plots(img_dir, summary, servers)
    img = lambda name, alt: f"![{alt}](bench/{name})\n" if name else f"_(plot not drawn: gnuplot failed)_\n"
    p = plan
    md = [f"""# Benchmarks

_Generated by `{info['command']}` (`{info['script']}`) on {info['date']}, in {info['seconds']} s. Every
number on this page comes from that one run; the raw figures are in
[bench/results.json](bench/results.json). Do not edit: rerun._

## Machine

{table(["nproc", "CPU", "kernel", "memory", "load avg before / after", "fd limit", "commit"],
       [[info['nproc'], info['cpu'], info['kernel'], f"{info['mem_gib']} GiB", " ".join(info['loadavg']) + " / " +
         " ".join(info['loadavg_after']), info['nofile'], info['git']]])}
Server start line: `{info['server_start_line']}`

## How it runs

- Servers, alternated inside every round: {", ".join(servers)}. `ref epoll` is bench/ref/epoll_echo.c
  (a bare single-thread epoll echo loop: the limit), `ref libuv` is bench/ref/uv_echo.c (libuv done
  the fast way). gskel runs with `workers: 1` and this config over its defaults:
  `{json.dumps(info['server_config'])}`.
- gskel's connections log in first (`--login`), as players do; the references only echo, so
  theirs prove themselves with one ECHO round trip instead.
- {"Each measurement gets a fresh server pinned to CPU 1 (`taskset -c 1`); the client (`gskel-bench`) is pinned to CPU 0." if info['pinned'] else "Fewer than 2 CPUs: nothing pinned."}
- Server CPU is the sum of the first field of `/proc/PID/task/*/schedstat` (ns on CPU) over the
  measured window, divided by the replies the client received in that window. A warm-up of
  {p['warmup']} s precedes each {p['window']} s window and is excluded.
- Paced runs: {p['rounds']} round(s) each; tables show medians (CPU/msg also min–max). Latency is
  from the request's `send()` to the read that completed its reply, in an HDR-style histogram
  (bench/histogram.c, within 0.8%).
- Two cores shared by client and server, on a machine other work may also use: treat
  throughput as ±15%, and compare servers within this page rather than with other machines.

## Paced echo: server CPU per message (the figure of merit)

64-byte ECHO payloads at a fixed total rate; "vs" columns are this server's CPU/msg divided by the
reference's (1.00× = as cheap as the bare epoll loop).

{paced_section(summary, servers)}
{img(made.get('cpu'), 'server CPU per message against connections')}
""" + "".join(img(name, f"latency percentiles, {label}") for label, name in made["latency"]) + f"""
## Flat-out echo: throughput (noisy: ±15% on 2 cores)

Pipeline {p['flat_pipeline']}, 64-byte payloads, as fast as the client goes; on two cores the
client is usually the bottleneck, so this says little about the server beyond "keeps up".

{flat_section(summary, servers)}
{img(made.get('throughput'), 'throughput against connections')}
## Idle connections: memory per connection

Each connection proves itself with one round trip (gskel: LOGIN/LOGIN_OK; references: ECHO),
then sits idle. RSS is the server's VmRSS after all connected minus before, per connection.
Slab is the kernel's `Slab` (whole machine) after minus before: on loopback it holds **both**
ends' sockets, so the server's share is about half (and other work on the machine adds noise).
A logged-in gskel connection's RSS includes the game's record of its player (64 bytes on the
logic thread: account, login order, display name, what `game_session_account` and
`game_session_name` answer) and the session slot's account id and resume pointer (16 bytes), both
there since signed logins; the references keep nothing per player.

{simple_section(summary, "hold", servers, [("conns", "conns", 0), ("server RSS bytes/conn", "server_rss_bytes_per_conn", 0),
                                             ("kernel slab bytes/conn (both ends)", "kernel_slab_bytes_per_conn", 0),
                                             ("lost", "lost", 0), ("errors", "errors", 0)])}
## Kick: protocol violations

Each client sends a frame with length 2; the server must reset (RST), keeping no TIME_WAIT.

{simple_section(summary, "kick", servers, [("kicked", "kicked", 0), ("resets seen", "resets_seen", 0),
                                             ("FIN seen", "eofs_seen", 0), ("server TIME_WAIT", "server_time_wait", 0),
                                             ("seconds", "seconds", 3), ("errors", "errors", 0)])}
## Connect rate

Concurrent loops of connect, PING, any reply, close (client first), over 16 source addresses.

{simple_section(summary, "connect", servers, [("connects/s", "connects_per_sec", 0), ("p50 µs", "p50_us", 1),
                                                ("p99 µs", "p99_us", 1), ("server CPU µs/connect", "server_cpu_us_per_connect", 1),
                                                ("server TIME_WAIT", "server_time_wait", 0), ("errors", "errors", 0)])}
## Session churn (gskel)

Connect, LOGIN, LOGOUT, wait for LOGOUT_OK, close first. The client should keep every TIME_WAIT;
the server none, and no CLOSE_WAIT on either side.

{simple_section(summary, "churn", servers, [("loops/s", "loops_per_sec", 0), ("p50 µs", "p50_us", 1), ("p99 µs", "p99_us", 1),
                                              ("server TIME_WAIT", "server_time_wait", 0), ("server CLOSE_WAIT", "server_close_wait", 0),
                                              ("client TIME_WAIT", "client_time_wait", 0), ("client CLOSE_WAIT", "client_close_wait", 0),
                                              ("errors", "errors", 0)])}
## Signed logins (gskel)

The same churn, each LOGIN carrying an Ed25519 ticket (`auth.mode` `"ticket"`,
[security.md](security.md)) signed by the client before its window, one per login (the server
refuses a replayed nonce). Loops/s here is LOGINs with ticket verification per second on one
worker; the server's CPU per loop beside the name-only churn's above is what a check costs.

{simple_section(summary, "tickets", servers, [("logins/s", "loops_per_sec", 0), ("server CPU µs/login", "server_cpu_us_per_loop", 1),
                                                ("p50 µs", "p50_us", 1), ("p99 µs", "p99_us", 1), ("server TIME_WAIT", "server_time_wait", 0),
                                                ("errors", "errors", 0)])}
{ticket_cost(summary, servers)}
## Slow readers (gskel)

Clients that send ECHO requests flat out and never read; the server must reset each once its
send queue passes `session.send_queue_limit_bytes`, with its memory bounded meanwhile.

{simple_section(summary, "slow", servers, [("reset", "reset", 0), ("not reset", "not_reset", 0), ("FIN seen", "fin_seen", 0),
                                             ("p50 ms to reset", "reset_p50_ms", 1), ("RSS before", "server_rss_before_bytes", 0),
                                             ("RSS peak", "server_rss_peak_bytes", 0), ("RSS after", "server_rss_after_bytes", 0),
                                             ("errors", "errors", 0)])}
## Sample game: tick time under players (gskel)

{fmt(p.get('game_players'))} players of the sample game (server/game/zone.c, `game.zone_enabled`, the default
world and area of interest) with `game.tick_hz` {p.get('game_hz')}: each logs in, sends a MOVE every tick
({p.get('game_speed')} units/s, a tenth of the default `game.max_speed`) and a CHAT every {p.get('game_chat_every')}
ticks, which the server sends to every player, and reads everything (`gskel-bench game`). Tick time
is the logic thread's `gskel_tick_seconds` histogram between two scrapes of the admin endpoint at
the window's edges, p50/p99 interpolated inside its buckets as Prometheus' `histogram_quantile`
does (the buckets are coarse: ..., 5, 7.5, 10, 15, 20 ms). MB/s and frames per send
(`gskel_frames_sent_total / gskel_send_calls_total`: above 1 when a tick's snapshot and chat lines
leave in one send) come from the same scrapes. The target is a tick p99 of at most
{p.get('game_tick_p99_target_ms', 10.0):g} ms. "Client kept up": every player sent its MOVE every tick; when it did
not, the client (one core, shared) was the limit. {p.get('game_warmup')} s warm-up, {p.get('game_window')} s window.

{game_section(summary, servers, p)}
## What this run says

{conclusions(summary)}
## Notes from this run

{notes(summary, failures, p.get("game_tick_p99_target_ms", 10.0))}"""]
    path = os.path.join(out_dir, "benchmarks.md")
    kept = kept_sections(path)
    with open(path, "w") as f:
        f.write("".join(md) + kept)


def kept_sections(path):
    """Sections other scripts write into the same page between their markers (`make bench-storm`'s,
    `make soak`'s): carried over from the page being replaced, so one tool's rerun does not erase
    another's."""
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        return ""
    kept = []
    for begin, end in (("<!-- storm:begin -->", "<!-- storm:end -->"), ("<!-- soak:begin -->", "<!-- soak:end -->")):
        i, j = old.find(begin), old.find(end)
        if i >= 0 and j > i:
            kept.append(old[i:j + len(end)] + "\n")
    return "".join("\n" + k for k in kept)

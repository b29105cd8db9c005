"""gskel-bench against the real server, a second or two per check, so the suite keeps the bench
(and the reference servers) working. One check per run: `bench_smoke.py NAME`; CTest runs each
per backend where it pins server behaviour. Binaries come from the environment CTest sets
(GSKEL_SERVER, GSKEL_BENCH, GSKEL_REF_EPOLL, GSKEL_REF_UV, GSKEL_BACKEND)."""
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import benchlib  # noqa: E402

SERVER = os.environ.get("GSKEL_SERVER", "build/bin/gskel-server")
BENCH = os.environ.get("GSKEL_BENCH", "build/bin/gskel-bench")
REF_EPOLL = os.environ.get("GSKEL_REF_EPOLL", "build/bin/gskel-ref-epoll")
REF_UV = os.environ.get("GSKEL_REF_UV", "")
EXAMPLE = os.environ.get("GSKEL_CLIENT_EXAMPLE", "build/bin/gskel-client-example")
BACKEND = os.environ.get("GSKEL_BACKEND", "epoll")


class Skip(Exception):
    """The check cannot run here (what it measures is not in this server): CTest shows it skipped."""


SKIP_EXIT = 77  # SKIP_RETURN_CODE in bench/CMakeLists.txt


def check(cond, what, figures):
    if not cond:
        raise AssertionError(f"{what}: {figures}")


def gskel(**overrides):
    return benchlib.gskel_server(SERVER, BACKEND, overrides)


def bench(server, scenario, *args):
    return benchlib.run_bench(BENCH, scenario, server.port, args, timeout=90)


def client_example_speaks_the_protocol():
    with gskel() as s:
        r = subprocess.run([EXAMPLE, "--port", str(s.port)], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and r.stdout.startswith("ok session="), "client example", r.stdout + r.stderr)
        # LOGOUT, then the client closed first: the wait states are all on the client's side.
        states = benchlib.wait_states(s.port, local=True)
    check(states == {}, "server TIME_WAIT/CLOSE_WAIT after LOGOUT", states)


def echo_runs_without_errors():
    with gskel() as s:
        r = bench(s, "echo", "--conns", 10, "--duration", 1, "--warmup", 0.2, "--login")
    check(r["errors"] == 0 and r["lost"] == 0, "errors", r)
    check(r["msgs_per_sec"] > 0 and r["conns"] == 10, "no traffic", r)
    check(0 < r["p50_us"] <= r["p99_us"] <= r["max_us"], "percentiles out of order", r)


def paced_echo_reports_server_cpu():
    with gskel() as s:
        r = bench(s, "echo", "--conns", 20, "--pipeline", 4, "--rate", 2000, "--duration", 1,
                  "--warmup", 0.2, "--server-pid", s.pid)
    check(r["errors"] == 0, "errors", r)
    # Paced: about the rate asked for, not flat out (wide bounds: CI machines are noisy).
    check(1000 <= r["msgs_per_sec"] <= 2200, "pacing", r)
    check(r["server_cpu_us_per_msg"] is not None and r["server_cpu_us_per_msg"] > 0, "server cpu", r)


def kick_resets_every_cheater_without_time_wait():
    with gskel() as s:
        r = bench(s, "kick", "--conns", 50)
    check(r["kicked"] == 50 and r["resets_seen"] == 50, "every cheater reset", r)
    check(r["server_time_wait"] == 0, "TIME_WAIT on the server", r)
    check(r["errors"] == 0, "errors", r)


def kick_at_once_resets_every_cheater_and_lets_the_server_go_on():
    """--at-once stops the server while the frames go out: it must be running again afterwards."""
    with gskel() as s:
        r = bench(s, "kick", "--conns", 50, "--at-once", "--server-pid", s.pid)
        with open(f"/proc/{s.pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    check(r["kicked"] == 50 and r["resets_seen"] == 50 and r["errors"] == 0, "every cheater reset", r)
    check(r["server_cpu_us_per_kick"] > 0, "server cpu per kick", r)
    check(state != "T", "the server left stopped", state)


def churn_leaves_no_wait_states_on_server():
    with gskel() as s:
        r = bench(s, "churn", "--conns", 8, "--duration", 1, "--warmup", 0.2)
    check(r["loops"] > 0 and r["errors"] == 0, "loops", r)
    check(r["server_time_wait"] == 0 and r["server_close_wait"] == 0, "server wait states", r)


def slow_readers_are_reset():
    with gskel() as s:
        r = bench(s, "slow", "--conns", 4, "--duration", 20, "--server-pid", s.pid)
    check(r["reset"] == 4 and r["not_reset"] == 0 and r["fin_seen"] == 0, "slow readers reset", r)
    # Bounded: 4 queues of 256 KiB and allocator slack, not the megabytes each client pushed.
    check(r["server_rss_peak_bytes"] - r["server_rss_before_bytes"] < 64 << 20, "server memory", r)


def hold_reports_memory_per_connection():
    with gskel() as s:
        r = bench(s, "hold", "--conns", 200, "--duration", 0.3, "--login", "--server-pid", s.pid)
    check(r["conns"] == 200 and r["lost"] == 0 and r["errors"] == 0, "held", r)
    check(r["server_rss_bytes_per_conn"] is not None and r["kernel_slab_bytes_per_conn"] > 0, "memory", r)


def connect_reports_rate():
    with gskel() as s:
        r = bench(s, "connect", "--conns", 4, "--duration", 0.5, "--warmup", 0.1)
    check(r["connects"] > 0 and r["errors"] == 0, "connects", r)
    check(r["server_time_wait"] == 0, "TIME_WAIT on the server", r)


def forked_processes_add_up():
    with gskel() as s:
        r = bench(s, "echo", "--conns", 12, "--procs", 3, "--duration", 0.5, "--warmup", 0.1)
    check(r["procs"] == 3 and r["conns"] == 12 and r["errors"] == 0, "three processes", r)
    check(r["msgs"] > 0 and r["p99_us"] > 0, "merged figures", r)
    with gskel() as s:
        r = bench(s, "echo", "--conns", 20, "--pipeline", 4, "--procs", 2, "--rate", 2000, "--duration", 1,
                  "--warmup", 0.2)
    # Each process paces its share: together the rate asked for, not twice it.
    check(1000 <= r["msgs_per_sec"] <= 2200 and r["errors"] == 0, "paced over two processes", r)


def ref_servers_echo_and_reset():
    refs = [(REF_EPOLL, "gskel-ref-epoll")] + ([(REF_UV, "gskel-ref-uv")] if REF_UV else [])
    for binary, name in refs:
        with benchlib.ref_server(binary, name) as s:
            r = bench(s, "echo", "--conns", 10, "--pipeline", 4, "--duration", 0.5, "--warmup", 0.1)
            check(r["errors"] == 0 and r["msgs"] > 0, name + " echo", r)
            r = bench(s, "kick", "--conns", 10)
            check(r["resets_seen"] == 10, name + " kick", r)


def frame(op, payload=b""):
    return struct.pack("<HH", 4 + len(payload), op) + payload


def read_frame(sock):
    """(op, payload); ConnectionResetError on RST, EOFError on FIN, socket.timeout when quiet."""
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            raise EOFError
        head += chunk
    length, op = struct.unpack("<HH", head)
    body = b""
    while len(body) < length - 4:
        chunk = sock.recv(length - 4 - len(body))
        if not chunk:
            raise EOFError
        body += chunk
    return op, body


def game_ops_answered(port):
    """Whether the server plays the sample game: LOGIN, then a MOVE that stays where the first
    SNAPSHOT put the player (a legal move), then PING. A server without game ops resets at the
    MOVE (bad_opcode), so the PING's PONG never comes. Returns a reason when it does not."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(frame(0x0010, bytes([5]) + b"probe"))
        op, body = read_frame(sock)
        if op != 0x0011:
            return f"LOGIN answered with op 0x{op:04x}"
        me, pos = struct.unpack("<I", body)[0], (0, 0)
        deadline = time.monotonic() + 1.0
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                op, body = read_frame(sock)
            except socket.timeout:
                continue
            if op == 0x0103 and len(body) >= 18 and struct.unpack_from("<I", body, 6)[0] == me:
                pos = struct.unpack_from("<ii", body, 10)
                break
        sock.settimeout(2)
        try:
            sock.sendall(frame(0x0100, struct.pack("<ii", *pos)) + frame(0x0002, struct.pack("<Q", 1)))
            while True:
                op, _ = read_frame(sock)
                if op == 0x0003:
                    return None
        except (ConnectionResetError, BrokenPipeError, EOFError):
            return "a LOGIN then a MOVE was reset: the server has no game ops (server/game/zone.c not in)"


def game_players_move_chat_and_read_server_metrics():
    admin = benchlib.free_port()
    game = {"game": {"zone_enabled": True}, "admin": {"port": admin}}
    ok, why = benchlib.config_accepted(SERVER, game)
    if not ok:
        raise Skip(f"the server refuses game.zone_enabled ({why}): the sample game is not in")
    with gskel(**game) as s:
        why = game_ops_answered(s.port)
        if why:
            raise Skip(why)
        r = bench(s, "game", "--conns", 60, "--duration", 1.5, "--warmup", 0.5, "--admin-port", admin,
                  "--chat-every", 10, "--server-pid", s.pid)
        log = s.log_text()
    check(r["players"] == 60 and r["errors"] == 0 and r["kicked"] == 0, "players in, nothing lost", r)
    # The server ended no session during the run (on a loaded machine the closing scrape may come
    # late enough to see the players' own logouts begin: those are no fault).
    ended = dict(kv.split("=") for kv in r["server_disconnect_reasons"].split(",") if kv)
    check(r["admin_ok"] and set(ended) <= {"logout", "client_close"}, "sessions the server ended", r)
    # Snapshots every tick (20 Hz) to every player; wide bounds: CI machines are noisy.
    check(15 <= r["snapshots_per_player_per_sec"] <= 21 and r["snapshot_entries_avg"] >= 1, "snapshots", r)
    check(r["tick_p50_ms"] is not None and 0 < r["tick_p50_ms"] <= r["tick_p99_ms"], "tick quantiles", r)
    check(15 <= r["server_ticks_per_sec"] <= 21, "server tick rate", r)
    # Every player's snapshot and the chat broadcasts of a tick leave in one send: more than one
    # frame per send once players chat.
    check(r["bytes_per_sec"] > 0 and r["frames_per_send"] > 1, "coalescing", r)
    check(r["chats_sent"] > 0 and r["chat_msgs_received"] >= r["chats_sent"], "chat broadcast", r)
    check("event=admin_listening" in log, "admin endpoint", log[-500:])


def bad_usage_exits_2():
    for argv in ([], ["nosuch"], ["echo", "--conns", "0"], ["kick", "--login"], ["kick", "--rate", "5"],
                 ["kick", "--at-once"], ["echo", "--at-once", "--server-pid", "1"],
                 ["echo", "--host", "192.0.2.1"], ["echo", "--duration", "-1"], ["game"],
                 ["game", "--admin-port", "0"], ["game", "--admin-port", "7778", "--tick-hz", "0"],
                 ["echo", "--admin-port", "7778"], ["echo", "--chat-every", "5"]):
        r = subprocess.run([BENCH, *argv], capture_output=True, text=True, timeout=10)
        check(r.returncode == 2, f"exit status of {argv}", r.returncode)
        lines = r.stderr.strip().splitlines()
        check(len(lines) == 1 and lines[0].startswith("gskel-bench: "), f"one-line error for {argv}", r.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("_") or not callable(globals().get(sys.argv[1])):
        sys.exit(f"usage: {sys.argv[0]} CHECK")
    try:
        globals()[sys.argv[1]]()
    except Skip as e:
        print(f"{sys.argv[1]}: skipped: {e}")
        sys.exit(SKIP_EXIT)
    print(f"{sys.argv[1]}: ok")

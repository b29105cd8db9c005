"""The game layer through the sample game (server/game/zone.c: snapshots, area of interest, the
speed check, chat) and the worked example (server/game/counter.c), over the wire; ops and
formats in docs/protocol.md, "Game ops".

Snapshots arrive every tick unasked, so a client's next frame may be one: tests read until the
frame they want, bounded by MAX_FRAMES rather than by time."""
import struct
import time

from gskel_harness import Server, ServerTestCase, main, metric, wait_until

OP_MOVE, OP_CHAT, OP_CHAT_MSG, OP_SNAPSHOT = 0x0100, 0x0101, 0x0102, 0x0103
OP_INCR, OP_COUNTER = 0x0110, 0x0111

TICK_HZ = 20
MAX_FRAMES = 400  # frames read while waiting for one: 20 s of snapshots at 20 Hz

# Speed is no object here: these tests are about who sees whom.
OPEN_WORLD = {"game": {"tick_hz": TICK_HZ, "zone_enabled": True, "world_size": 10000, "aoi_radius": 1000,
                       "max_speed": 1 << 30}}
# A world every player sees whole (one grid cell), with a real top speed.
SMALL_WORLD = {"game": {"tick_hz": TICK_HZ, "zone_enabled": True, "world_size": 100000, "aoi_radius": 200000,
                        "max_speed": 1000, "move_lag_ms": 1000}}


class Snapshot:
    def __init__(self, payload):
        self.tick, count = struct.unpack_from("<IH", payload)
        if len(payload) != 6 + 12 * count:
            raise AssertionError(f"SNAPSHOT of {count} entries is {len(payload)} bytes")
        self.entries = [struct.unpack_from("<Iii", payload, 6 + 12 * k) for k in range(count)]
        self.pos = {sid: (x, y) for sid, x, y in self.entries}


def next_frame(client, op):
    """The payload of the next frame of `op`, skipping others (snapshots, chat, counter)."""
    for _ in range(MAX_FRAMES):
        got, payload = client.recv_frame()
        if got == op:
            return payload
    raise AssertionError(f"no frame 0x{op:04x} within {MAX_FRAMES} frames")


def snapshot_where(client, predicate, what="a matching snapshot"):
    for _ in range(MAX_FRAMES):
        snap = Snapshot(next_frame(client, OP_SNAPSHOT))
        if predicate(snap):
            return snap
    raise AssertionError(f"no snapshot with {what} within {MAX_FRAMES} frames")


def end_of_stream(client):
    """Like Client.end_of_stream, but bounded: snapshots would keep a live session reading."""
    try:
        for _ in range(MAX_FRAMES):
            client.recv_frame()
    except EOFError:
        return "fin"
    except ConnectionResetError:
        return "rst"
    raise AssertionError(f"still open after {MAX_FRAMES} frames")


def move(client, x, y):
    client.send_frame(OP_MOVE, struct.pack("<ii", x, y))


def chat_frame_payload(text):
    return bytes([len(text)]) + text


class GameTestCase(ServerTestCase):
    def setUp(self):
        self.server = Server(self.overrides, admin=True)

    def join(self, name=b"player"):
        """A logged-in client the zone has taken in (its first snapshot shows it), and its id."""
        c = self.server.connect()
        sid = c.login(name)
        snapshot_where(c, lambda s: sid in s.pos, "the player itself")
        return c, sid

    def position_of(self, client, sid):
        return snapshot_where(client, lambda s: sid in s.pos, f"player {sid}").pos[sid]

    def settle(self, *moves):
        """Waits until each (client, id, (x, y)) shows itself there; returns the latest tick."""
        return max(snapshot_where(c, lambda s, i=sid, p=pos: s.pos.get(i) == p, f"player {sid} at {pos}").tick
                   for c, sid, pos in moves)

    def snapshot_from(self, client, tick):
        return snapshot_where(client, lambda s: s.tick >= tick, f"tick >= {tick}")


class SnapshotTest(GameTestCase):
    overrides = OPEN_WORLD

    def test_snapshots_arrive_every_tick_with_the_player_in_them(self):
        c, sid = self.join()
        snaps = [Snapshot(next_frame(c, OP_SNAPSHOT)) for _ in range(5)]
        self.assertEqual([s.tick - snaps[0].tick for s in snaps], [0, 1, 2, 3, 4])
        for s in snaps:
            self.assertEqual(s.entries[0][0], sid, "the player itself comes first")

    def test_players_near_each_other_see_each_other(self):
        (a, ida), (b, idb) = self.join(b"a"), self.join(b"b")
        move(a, 1000, 1000)
        move(b, 1500, 1200)
        tick = self.settle((a, ida, (1000, 1000)), (b, idb, (1500, 1200)))
        self.assertEqual(self.snapshot_from(a, tick).pos.get(idb), (1500, 1200))
        self.assertEqual(self.snapshot_from(b, tick).pos.get(ida), (1000, 1000))

    def test_players_far_apart_do_not_see_each_other(self):
        (a, ida), (b, idb) = self.join(b"a"), self.join(b"b")
        move(a, 1000, 1000)
        move(b, 8000, 8000)
        tick = self.settle((a, ida, (1000, 1000)), (b, idb, (8000, 8000)))
        self.assertNotIn(idb, self.snapshot_from(a, tick).pos)
        self.assertNotIn(ida, self.snapshot_from(b, tick).pos)

    def test_a_neighbouring_cell_counts_only_within_the_radius(self):
        # Cells are aoi_radius (1000) wide: (1999, 1000) and (2001, 1000) are both in the cell
        # right of (1000, 1000), at 999 and 1001 from it.
        (a, ida), (near, idn), (far, idf) = self.join(b"a"), self.join(b"near"), self.join(b"far")
        move(a, 1000, 1000)
        move(near, 1999, 1000)
        move(far, 2001, 1000)
        tick = self.settle((a, ida, (1000, 1000)), (near, idn, (1999, 1000)), (far, idf, (2001, 1000)))
        seen = self.snapshot_from(a, tick).pos
        self.assertIn(idn, seen)
        self.assertNotIn(idf, seen)

    def test_a_player_who_leaves_disappears_from_snapshots(self):
        (a, ida), (b, idb) = self.join(b"a"), self.join(b"b")
        move(a, 5000, 5000)
        move(b, 5100, 5000)
        snapshot_where(a, lambda s: s.pos.get(idb) == (5100, 5000), "the other player")
        b.close()
        self.server.wait_for_log("disconnect", session=idb)
        snapshot_where(a, lambda s: idb not in s.pos, "the other player gone")

    def test_move_outside_the_world_is_reset_as_cheat(self):
        c, sid = self.join()
        move(c, 10000, 0)  # world_size: one past the last unit
        self.assertEqual(end_of_stream(c), "rst")
        self.server.wait_for_log("disconnect", session=sid, reason="cheat")

    def test_move_with_a_wrong_payload_length_is_reset_as_bad_payload(self):
        c, sid = self.join()
        c.send_frame(OP_MOVE, struct.pack("<iiH", 1, 1, 0))
        self.assertEqual(end_of_stream(c), "rst")
        self.server.wait_for_log("disconnect", session=sid, reason="bad_payload")

    def test_game_op_before_login_is_reset_as_bad_state(self):
        c = self.server.connect()
        move(c, 1, 1)
        self.assertEqual(end_of_stream(c), "rst")
        self.server.wait_for_log("disconnect", reason="bad_state")

    def test_tick_count_grows(self):
        before = metric(self.server.admin("GET", "/metrics")[1], "gskel_tick_seconds_count")
        wait_until(lambda: metric(self.server.admin("GET", "/metrics")[1], "gskel_tick_seconds_count") > before,
                   "gskel_tick_seconds_count to grow")


class SnapshotCapTest(GameTestCase):
    # (214 - 4 header - 6) / 12 = 17 entries fit; 20 players see each other.
    overrides = dict(SMALL_WORLD, session={"max_frame_bytes": 214})

    def test_snapshot_entries_are_capped_to_fit_max_frame_bytes_with_the_player_first(self):
        players = [self.join(b"p%d" % i) for i in range(20)]
        last, last_id = players[-1]
        everyone_in = snapshot_where(last, lambda s: last_id in s.pos, "the last player").tick
        for c, sid in players[:3]:
            full = self.snapshot_from(c, everyone_in)
            self.assertEqual(len(full.entries), 17)
            self.assertEqual(full.entries[0][0], sid)
            self.assertLessEqual(4 + 6 + 12 * len(full.entries), 214)


class MoveTest(GameTestCase):
    overrides = SMALL_WORLD

    def step_target(self, pos, step):
        x, y = pos
        return (x + step if x + step < 100000 else x - step, y)

    def test_move_within_speed_shows_in_the_other_players_snapshot(self):
        (a, ida), (b, idb) = self.join(b"a"), self.join(b"b")
        target = self.step_target(self.position_of(a, ida), 10)
        move(a, *target)
        snapshot_where(b, lambda s: s.pos.get(ida) == target, f"player a at {target}")
        snapshot_where(a, lambda s: s.pos.get(ida) == target, "its own move")

    def test_speed_hack_is_reset_as_cheat(self):
        c, sid = self.join()
        move(c, *self.step_target(self.position_of(c, sid), 40000))  # 40 s of walking at once
        self.assertEqual(end_of_stream(c), "rst")
        self.server.wait_for_log("disconnect", session=sid, reason="cheat")

    def test_a_late_burst_of_moves_within_the_lag_window_is_accepted(self):
        c, sid = self.join()
        x, y = self.position_of(c, sid)
        # At least 600 ms pass on the server between this snapshot and the burst's tick, so
        # 650 units are paid for (move_lag_ms 1000, plus one tick); the burst walks 500.
        time.sleep(0.6)  # only makes the burst affordable: a slower server waits longer, never less
        d = 1 if x < 50000 else -1
        c.send(b"".join(struct.pack("<HHii", 12, OP_MOVE, x + d * 100 * k, y) for k in range(1, 6)))
        snapshot_where(c, lambda s: s.pos.get(sid) == (x + d * 500, y), "the end of the burst")


class BatchedMoveTest(GameTestCase):
    overrides = {"game": dict(SMALL_WORLD["game"], move_lag_ms=0)}

    def test_moves_batched_into_one_tick_share_its_time(self):
        # Each step (40) is within one tick's walk (50), but 30 of them in one write are not.
        c, sid = self.join()
        x, y = self.position_of(c, sid)
        d = 1 if x < 50000 else -1
        c.send(b"".join(struct.pack("<HHii", 12, OP_MOVE, x + d * 40 * k, y) for k in range(1, 31)))
        self.assertEqual(end_of_stream(c), "rst")
        self.server.wait_for_log("disconnect", session=sid, reason="cheat")


class ChatTest(GameTestCase):
    overrides = OPEN_WORLD

    def test_chat_reaches_every_player_in_the_zone_exactly_once(self):
        players = [self.join(b"p%d" % i) for i in range(3)]
        (sender, sender_id) = players[0]
        text = "hello from the zone \u2713".encode()
        sender.send_frame(OP_CHAT, chat_frame_payload(text))
        want = struct.pack("<IB", sender_id, len(text)) + text
        for c, _ in players:
            self.assertEqual(next_frame(c, OP_CHAT_MSG), want)
            copies, snapshots = 0, 0
            while snapshots < 3:  # a duplicate would come in the same tick's send or the next
                op, payload = c.recv_frame()
                snapshots += op == OP_SNAPSHOT
                copies += op == OP_CHAT_MSG and payload == want
            self.assertEqual(copies, 0, "the message came twice")

    def test_chat_with_invalid_utf8_is_reset_as_bad_payload(self):
        c, sid = self.join()
        c.send_frame(OP_CHAT, chat_frame_payload(b"ok \xc0\xaf"))  # an overlong '/'
        self.assertEqual(end_of_stream(c), "rst")
        self.server.wait_for_log("disconnect", session=sid, reason="bad_payload")

    def test_chat_whose_length_byte_disagrees_with_the_frame_is_reset_as_bad_payload(self):
        c, sid = self.join()
        c.send_frame(OP_CHAT, bytes([5]) + b"abc")
        self.assertEqual(end_of_stream(c), "rst")
        self.server.wait_for_log("disconnect", session=sid, reason="bad_payload")

    def test_frames_of_one_tick_share_sends(self):
        players = [self.join(b"p%d" % i) for i in range(4)]
        for c, _ in players:
            c.send(b"".join(struct.pack("<HHB", 8, OP_CHAT, 3) + b"hi%d" % k for k in range(5)))
        for c, _ in players:
            for _ in range(20):
                next_frame(c, OP_CHAT_MSG)
        text = self.server.admin("GET", "/metrics")[1]
        frames, sends = metric(text, "gskel_frames_sent_total"), metric(text, "gskel_send_calls_total")
        self.assertGreater(frames / sends, 1.0, f"{frames} frames in {sends} sends")


class CounterTest(GameTestCase):
    overrides = {"game": {"tick_hz": TICK_HZ, "counter_broadcast_ticks": 1000000}}

    def incr(self, client):
        client.send_frame(OP_INCR)
        return struct.unpack("<Q", client.expect_frame(OP_COUNTER))[0]

    def test_incr_answers_incremented_values_across_two_clients(self):
        a, b = self.server.connect(), self.server.connect()
        a.login(b"a")
        b.login(b"b")
        self.assertEqual([self.incr(a), self.incr(b), self.incr(a), self.incr(b)], [1, 2, 3, 4])

    def test_incr_with_a_payload_is_reset_as_bad_payload(self):
        c = self.server.connect()
        sid = c.login()
        c.send_frame(OP_INCR, b"\x01")
        self.assertEqual(end_of_stream(c), "rst")
        self.server.wait_for_log("disconnect", session=sid, reason="bad_payload")

    def test_incr_before_login_is_reset_as_bad_state(self):
        c = self.server.connect()
        c.send_frame(OP_INCR)
        self.assertEqual(end_of_stream(c), "rst")
        self.server.wait_for_log("disconnect", reason="bad_state")


class CounterBroadcastTest(GameTestCase):
    overrides = {"game": {"tick_hz": TICK_HZ, "counter_broadcast_ticks": 2}}

    def test_counter_broadcast_reaches_only_sessions_that_asked(self):
        asker, bystander = self.server.connect(), self.server.connect()
        asker.login(b"asker")
        bystander.login(b"bystander")
        asker.send_frame(OP_INCR)
        for _ in range(4):  # the answer, then broadcasts of the same value
            self.assertEqual(asker.expect_frame(OP_COUNTER), struct.pack("<Q", 1))
        # One worker (the harness's default): a broadcast to the bystander would have been queued
        # before this echo's answer.
        self.assertEqual(bystander.echo(b"anything for me?"), b"anything for me?")


if __name__ == "__main__":
    main()

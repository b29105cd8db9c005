"""Several workers: one SO_REUSEPORT listener each, sessions spread over them, each worker owning
its own slice of the session id space."""
import struct

from gskel_harness import OP_ECHO, ServerTestCase, main


class WorkersTest(ServerTestCase):
    overrides = {"workers": 3, "session": {"max_sessions": 3000}}

    def test_every_worker_starts_its_own_loop(self):
        for i in range(3):
            self.server.wait_for_log("worker_started", worker=i, slots=1000)

    def test_connections_spread_over_workers_and_all_are_served(self):
        clients = [self.server.connect() for _ in range(120)]
        ids = []
        for i, c in enumerate(clients):
            ids.append(c.login(b"p%d" % i))
        for i, c in enumerate(clients):
            c.send_frame(OP_ECHO, struct.pack("<I", i))
        for i, c in enumerate(clients):
            self.assertEqual(c.expect_frame(OP_ECHO), struct.pack("<I", i))
        # The id's low 24 bits are the global slot: worker w owns slots [1000w, 1000w+1000).
        owners = {(sid & 0xFFFFFF) // 1000 for sid in ids}
        self.assertGreater(len(owners), 1, f"all 120 sessions landed on one worker: {sorted(ids)[:5]}...")
        self.assertEqual(len(set(ids)), len(ids))

    def test_stop_closes_sessions_on_every_worker(self):
        clients = [self.server.connect() for _ in range(30)]
        for c in clients:
            c.echo(b"x")
        self.assertEqual(self.server.stop(), 0)
        for c in clients:
            self.assertEqual(c.end_of_stream(), "rst")
            self.assertEqual([op for op, _ in c.trailing], [0x0020])  # KICK, then RST after the grace


if __name__ == "__main__":
    main()

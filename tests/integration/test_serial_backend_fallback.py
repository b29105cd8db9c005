"""`auto` falls back to epoll when io_uring cannot run, and `--backend io_uring` then fails with a
clear error and exit 2. io_uring is switched off machine-wide for the test with the
kernel.io_uring_disabled sysctl (restored afterwards), so CTest runs this file alone (RUN_SERIAL)."""
import os
import subprocess
import tempfile
import unittest

from gskel_harness import SERVER, Server, main

SYSCTL = "/proc/sys/kernel/io_uring_disabled"


def build_has_io_uring():
    # Name logins: the check is of the backend, not of a ticket key file.
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write('{"auth": {"mode": "none"}}')
        f.flush()
        r = subprocess.run([SERVER, "--backend", "io_uring", "--check-config", "--config", f.name],
                           capture_output=True, text=True)
    return r.returncode == 0


@unittest.skipUnless(os.access(SYSCTL, os.W_OK), f"{SYSCTL} is not writable here (needs root and kernel >= 6.6)")
class BackendFallbackTest(unittest.TestCase):
    def setUp(self):
        with open(SYSCTL) as f:
            self.saved = f.read().strip()
        with open(SYSCTL, "w") as f:
            f.write("2")

    def tearDown(self):
        with open(SYSCTL, "w") as f:
            f.write(self.saved)

    def test_auto_falls_back_to_epoll_and_says_why(self):
        s = Server(backend="auto", args=())
        try:
            start = s.events("start")[0]
            self.assertEqual(start["backend"], "epoll")
            if build_has_io_uring():
                self.assertIn("io_uring unavailable", start.get("skipped", ""))
            self.assertEqual(s.connect().echo(b"fallback"), b"fallback")
        finally:
            self.assertEqual(s.stop(), 0)

    def test_io_uring_asked_for_but_unavailable_is_exit_2(self):
        if not build_has_io_uring():
            self.skipTest("this build has no io_uring backend")
        r = subprocess.run([SERVER, "--backend", "io_uring", "--port", "0"], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("gskel-server: backend io_uring: "), lines[0])


if __name__ == "__main__":
    main()

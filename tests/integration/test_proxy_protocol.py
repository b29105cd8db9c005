"""PROXY protocol v1/v2 on the game listener (listen.proxy_protocol, listen.trusted_proxies): the
header's client address is the session's everywhere (guards, bans, logs, the admin listing); a
header from an untrusted source, a malformed, missing or slow one is an abortive close, counted.
The balancer here is this test itself, sending from 127.0.0.1 (trusted); 127.0.0.2 is not."""
import ipaddress
import json
import struct

from gskel_harness import OP_ECHO, Client, Server, ServerTestCase, frame, main, wait_until

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, dst="127.0.0.1", sport=40000, dport=7777):
    fam = "TCP6" if ":" in src else "TCP4"
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src, dst="127.0.0.1", sport=40000, dport=7777, command=0x1, tlvs=b""):
    if command == 0x0:  # LOCAL: no addresses
        return V2_SIG + bytes([0x20, 0x00]) + struct.pack(">H", len(tlvs)) + tlvs
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    fam = 0x11 if a.version == 4 else 0x21
    body = a.packed + b.packed + struct.pack(">HH", sport, dport) + tlvs
    return V2_SIG + bytes([0x20 | command, fam]) + struct.pack(">H", len(body)) + body


def disconnects(server, reason):
    _, text = server.admin("GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(f'gskel_disconnects_total{{reason="{reason}"}} '):
            return int(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no disconnect counter for {reason}")


class ProxyCase(ServerTestCase):
    """A server that takes PROXY headers from 127.0.0.1, with this test as the balancer."""
    proxy = "any"
    guard = {}

    def setUp(self):
        self.server = Server({"listen": {"proxy_protocol": self.proxy, "trusted_proxies": ["127.0.0.1/32"],
                                         "proxy_header_timeout_ms": 400},
                              "guard": dict({"autoban_kicks": 0}, **self.guard)}, admin=True)

    def balancer(self, header, first=b""):
        """A connection from the trusted balancer address that sends header (and first bytes)."""
        c = Client(self.server.port, source="127.0.0.1")
        c.send(header + first)
        return c

    def peers(self):
        status, body = self.server.admin("GET", "/sessions")
        self.assertEqual(status, 200)
        return sorted(s["peer"] for s in json.loads(body))

    def assert_reset(self, c, reason, count=1):
        self.assertEqual(c.end_of_stream(), "rst")
        line = self.server.wait_for_log("disconnect", count=count, reason=reason)
        self.assertEqual(line["close"], "rst")
        wait_until(lambda: disconnects(self.server, reason) >= count, f"{reason} counted")


class ProxyProtocolTest(ProxyCase):

    def test_v1_header_names_the_client_in_the_listing_and_the_log(self):
        c = self.balancer(v1("203.0.113.7", sport=51000))
        c.login()
        self.assertEqual(c.echo(b"hi"), b"hi")
        self.assertEqual(self.peers(), ["203.0.113.7:51000"])
        c.close()
        line = self.server.wait_for_log("disconnect")
        self.assertEqual(line["peer"], "203.0.113.7:51000")

    def test_v2_header_with_tlvs_and_ipv6_client(self):
        tlv = bytes([0x01]) + struct.pack(">H", 2) + b"h2"  # ALPN, skipped
        c = self.balancer(v2("2001:db8::5", dst="::1", sport=4242, tlvs=tlv))
        self.assertEqual(c.echo(b"v6"), b"v6")
        self.assertEqual(self.peers(), ["[2001:db8::5]:4242"])
        c.close()

    def test_header_and_first_frame_in_one_segment(self):
        c = self.balancer(v2("198.51.100.1"), frame(OP_ECHO, b"same-segment"))
        self.assertEqual(c.expect_frame(OP_ECHO), b"same-segment")
        c.close()

    def test_header_cut_into_single_bytes(self):
        c = Client(self.server.port, source="127.0.0.1")
        for b in v1("192.0.2.9", sport=1234):
            c.send(bytes([b]))
        self.assertEqual(c.echo(b"after-dribble"), b"after-dribble")
        self.assertEqual(self.peers(), ["192.0.2.9:1234"])
        c.close()

    def test_v2_local_keeps_the_balancers_address(self):
        c = self.balancer(v2("0.0.0.0", command=0x0))
        self.assertEqual(c.echo(b"check"), b"check")
        [peer] = self.peers()
        self.assertTrue(peer.startswith("127.0.0.1:"), peer)
        c.close()

    def test_malformed_header_from_the_balancer_is_reset_and_counted(self):
        bystander = self.balancer(v1("192.0.2.1"))
        self.assertEqual(bystander.echo(b"before"), b"before")
        self.assert_reset(self.balancer(b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), "bad_proxy_header")
        self.assertEqual(bystander.echo(b"after"), b"after")
        bystander.close()

    def test_missing_header_from_the_balancer_is_reset(self):
        self.assert_reset(self.balancer(frame(OP_ECHO, b"no header")), "bad_proxy_header")

    def test_slow_header_is_reset_at_its_own_timeout(self):
        c = self.balancer(b"PROXY TCP4 ")
        self.assert_reset(c, "proxy_timeout")

    def test_untrusted_source_sending_a_header_is_reset_and_counted(self):
        for n, header in enumerate((v1("10.9.9.9"), v2("10.9.9.9")), start=1):
            c = Client(self.server.port, source="127.0.0.2")
            c.send(header)
            self.assert_reset(c, "proxy_untrusted", count=n)

    def test_untrusted_direct_client_plays_as_itself(self):
        c = Client(self.server.port, source="127.0.0.2")
        c.login()
        self.assertEqual(c.echo(b"direct"), b"direct")
        [peer] = self.peers()
        self.assertTrue(peer.startswith("127.0.0.2:"), peer)
        c.close()

    def test_ban_through_the_admin_endpoint_hits_the_header_address_only(self):
        a = self.balancer(v1("192.0.2.10"))
        b = self.balancer(v1("192.0.2.11"))
        self.assertEqual(a.echo(b"a"), b"a")
        self.assertEqual(b.echo(b"b"), b"b")
        self.assertEqual(self.server.admin("POST", "/ban?ip=192.0.2.10&seconds=60")[0], 200)
        self.assertEqual(a.end_of_stream(), "rst")
        self.assertEqual(b.echo(b"still here"), b"still here")
        again = self.balancer(v1("192.0.2.10"))
        self.assertEqual(again.end_of_stream(), "rst")
        self.server.wait_for_log("disconnect", reason="banned", count=2)
        b.close()


class ProxyV1OnlyTest(ServerTestCase):
    """listen.proxy_protocol "v1": a v2 header is malformed for this listener."""

    def setUp(self):
        self.server = Server({"listen": {"proxy_protocol": "v1", "trusted_proxies": ["127.0.0.1"]}})

    def test_v2_header_is_refused_when_only_v1_is_on(self):
        c = Client(self.server.port, source="127.0.0.1")
        c.send(v2("192.0.2.1"))
        self.assertEqual(c.end_of_stream(), "rst")
        self.server.wait_for_log("disconnect", reason="bad_proxy_header")


class ProxyPerIpLimitTest(ProxyCase):
    guard = {"max_conns_per_ip": 1}

    def test_per_ip_limit_counts_the_client_address_not_the_balancer(self):
        first = self.balancer(v1("192.0.2.20"))
        other = self.balancer(v1("192.0.2.21"))
        self.assertEqual(first.echo(b"1"), b"1")
        self.assertEqual(other.echo(b"2"), b"2")
        second = self.balancer(v1("192.0.2.20"))
        self.assertEqual(second.end_of_stream(), "rst")
        self.server.wait_for_log("disconnect", reason="ip_limit")
        self.assertEqual(first.echo(b"still"), b"still")
        first.close()
        other.close()


if __name__ == "__main__":
    main()

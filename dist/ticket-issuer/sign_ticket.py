#!/usr/bin/python3
"""A login backend's side of gskel's signed tickets (docs/security.md), in Python with PyNaCl
(Debian: python3-nacl): reads the secret key file gskel-ticket --new-key wrote (the last line is
the newest key) and prints one ticket in hex, byte for byte what gskel-ticket makes.
    sign_ticket.py --key FILE --account N --name X --ttl S [--nonce HEX32] [--now S]"""
import argparse
import os
import struct
import time

import nacl.signing

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--key", required=True)
ap.add_argument("--account", type=int, required=True)
ap.add_argument("--name", required=True)
ap.add_argument("--ttl", type=int, required=True)
ap.add_argument("--nonce")
ap.add_argument("--now", type=int)
a = ap.parse_args()

# "<key id> <32-byte seed in hex>" per line; # comments and blank lines ignored.
lines = [l.strip() for l in open(a.key) if l.strip() and not l.strip().startswith("#")]
key_id, seed_hex = lines[-1].split()
name = a.name.encode()
if not 1 <= len(name) <= 32:
    raise SystemExit("sign_ticket.py: --name: 1..32 bytes")
nonce = bytes.fromhex(a.nonce) if a.nonce else os.urandom(16)
expires = (a.now if a.now is not None else int(time.time())) + a.ttl
body = struct.pack("<BIQQ", 1, int(key_id), a.account, expires) + nonce + bytes([len(name)]) + name
# Signed: the domain "gskel-ticket-v1", then every byte before the signature.
signature = nacl.signing.SigningKey(bytes.fromhex(seed_hex)).sign(b"gskel-ticket-v1" + body).signature
print((body + signature).hex())

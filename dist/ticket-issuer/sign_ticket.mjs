// A login backend's side of gskel's signed tickets (docs/security.md), in Node with nothing but
// its built-in crypto: reads the secret key file gskel-ticket --new-key wrote (the last line is
// the newest key) and prints one ticket in hex, byte for byte what gskel-ticket makes.
//   node sign_ticket.mjs --key FILE --account N --name X --ttl S [--nonce HEX32] [--now S]
import { createPrivateKey, randomBytes, sign } from "node:crypto";
import { readFileSync } from "node:fs";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) =>
  a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs, []));
for (const need of ["key", "account", "name", "ttl"])
  if (!args[need]) { console.error(`sign_ticket.mjs: --${need} is required`); process.exit(2); }

// "<key id> <32-byte seed in hex>" per line; # comments and blank lines ignored.
const lines = readFileSync(args.key, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
const [keyId, seedHex] = lines[lines.length - 1].split(/\s+/);
// An Ed25519 private key from its 32-byte seed: the fixed PKCS#8 prefix, then the seed.
const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(seedHex, "hex")]);
const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });

const name = Buffer.from(args.name, "utf8");
if (name.length < 1 || name.length > 32) { console.error("sign_ticket.mjs: --name: 1..32 bytes"); process.exit(2); }
const now = BigInt(args.now ?? Math.floor(Date.now() / 1000));
const body = Buffer.alloc(1 + 4 + 8 + 8 + 16 + 1 + name.length);
let off = body.writeUInt8(1, 0);                              // version
off = body.writeUInt32LE(Number(keyId), off);                 // key id
off = body.writeBigUInt64LE(BigInt(args.account), off);       // account
off = body.writeBigUInt64LE(now + BigInt(args.ttl), off);     // expires, unix seconds
off += (args.nonce ? Buffer.from(args.nonce, "hex") : randomBytes(16)).copy(body, off); // nonce
off = body.writeUInt8(name.length, off);                      // name length
name.copy(body, off);                                         // name
// Signed: the domain "gskel-ticket-v1", then every byte before the signature.
const signature = sign(null, Buffer.concat([Buffer.from("gskel-ticket-v1"), body]), key);
console.log(Buffer.concat([body, signature]).toString("hex"));

#!/bin/sh
# `make run-proxy`: haproxy (dist/haproxy.cfg) in front of one gskel-server, as a deployment runs
# them, for a newcomer to try: players connect to 127.0.0.1:7777 (TCP) or :7778 (TLS, a
# self-signed certificate made on first run); gskel listens on 127.0.0.1:17777 behind it, with
# PROXY v2 from haproxy only, and its admin endpoint on 127.0.0.1:9100. Ctrl-C stops both.
set -eu
BUILD=${1:-build}
DIR="$BUILD/proxy"
mkdir -p "$DIR"
if [ ! -f "$DIR/gskel.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 365 \
        -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
    cat "$DIR/cert.pem" "$DIR/key.pem" > "$DIR/gskel.pem"
    chmod 600 "$DIR/key.pem" "$DIR/gskel.pem"
fi
cat > "$DIR/gskel.json" <<JSON
{
  "listen": {"host": "127.0.0.1", "port": 17777, "proxy_protocol": "v2",
             "trusted_proxies": ["127.0.0.1"], "drain_ms": 3000},
  "admin": {"host": "127.0.0.1", "port": 9100},
  "auth": {"key_file": "$PWD/keys/tickets.pub"}
}
JSON
"$BUILD/bin/gskel-server" --config "$DIR/gskel.json" &
GSKEL=$!
trap 'kill -TERM $GSKEL 2>/dev/null; wait $GSKEL 2>/dev/null' EXIT INT TERM
GSKEL_FRONT_BIND=127.0.0.1:7777 GSKEL_TLS_BIND=127.0.0.1:7778 GSKEL_TLS_CERT="$DIR/gskel.pem" \
GSKEL_SERVER=127.0.0.1:17777 GSKEL_ADMIN_PORT=9100 GSKEL_PIDFILE="$DIR/haproxy.pid" \
    haproxy -db -f dist/haproxy.cfg

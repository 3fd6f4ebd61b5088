#!/usr/bin/env bash
# Stop drill: `sandesh web` and `sandesh worker` under full dose load get
# SIGINT (or SIGTERM) at once, ROUNDS times (default 20). Each round
# reports how long each process took to exit and its exit code; the new
# pair started right after delivers what the old one left, and the round's
# load generator, waiting for every accepted dose's confirmation at the
# double, reports any lost. Needs Go, redis-server and jq.
#
#   bench/stopdrill.sh                 # 20 rounds, SIGINT
#   ROUNDS=3 SIGNAL=TERM bench/stopdrill.sh
#
# Reports and logs go to bench/out-stop/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-20}
SIGNAL=${SIGNAL:-INT}
OUT=$PWD/bench/out-stop
. bench/lib.sh

REDIS_PORT=6396
SECRET=stop-secret-0123456789abcdef0123456789
ADMIN=stop-admin-key-0123456789abcdef
WEB=http://127.0.0.1:3120

redis-server --port $REDIS_PORT --bind 127.0.0.1 --save "" --appendonly no --dir "$OUT" --logfile "$OUT/redis.log" --daemonize no &
PIDS+=($!)
until redis-cli -p $REDIS_PORT ping >/dev/null 2>&1; do sleep 0.05; done
"$BIN/smsdouble" -listen 127.0.0.1:4030 -account-sid $SID -auth-token $TOKEN -latency 2ms -jitter 3ms -callbacks none >>"$OUT/double.log" 2>&1 &
PIDS+=($!)
until curl -fs http://127.0.0.1:4030/control >/dev/null 2>&1; do sleep 0.05; done

for port in 3120 3121; do
  cat >"$OUT/sandesh-$port.yaml" <<EOF
listen: 127.0.0.1:$port
public_url: $WEB
redis_url: redis://127.0.0.1:$REDIS_PORT/0
secret: $SECRET
admin_key: $ADMIN
log_level: warn
workers: {otp: 20, transactional: 100, bulk: 30}
providers:
  - {name: primary, kind: twilio, account_sid: $SID, auth_token: $TOKEN, from: "+15005550006", base_url: "http://127.0.0.1:4030"}
EOF
done

start() {
  "$BIN/sandesh" --config "$OUT/sandesh-3120.yaml" web >>"$OUT/web.log" 2>&1 & WEB_PID=$!; PIDS+=($!)
  "$BIN/sandesh" --config "$OUT/sandesh-3121.yaml" worker >>"$OUT/worker.log" 2>&1 & WORKER_PID=$!; PIDS+=($!)
  for url in $WEB http://127.0.0.1:3121; do
    for _ in $(seq 1 400); do curl -fs "$url/readyz" >/dev/null 2>&1 && continue 2; sleep 0.05; done
    echo "not ready: $url" >&2; exit 1
  done
}

# gone pid: the process has exited (a child not yet reaped is a zombie).
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

start
WORST=0
BAD=0
echo "| round | web exit | worker exit | doses accepted | confirmations lost | duplicates |"
echo "| --- | --- | --- | --- | --- | --- |"
for round in $(seq 1 "$ROUNDS"); do
  LOADGEN_ADMIN_KEY=$ADMIN "$BIN/loadgen" -url $WEB -double http://127.0.0.1:4030 -reset-double -quiet \
    -mix dose=1 -rate 0 -concurrency 128 -duration 6s -beneficiaries 500 -drain 60s \
    -json "$OUT/round-$round.json" >"$OUT/round-$round.txt" 2>&1 &
  LG=$!
  sleep 4
  T0=$(date +%s%N)
  kill -"$SIGNAL" "$WEB_PID" "$WORKER_PID"
  WEB_MS=; WORKER_MS=
  until [ -n "$WEB_MS" ] && [ -n "$WORKER_MS" ]; do
    NOW=$(( ($(date +%s%N) - T0) / 1000000 ))
    [ -z "$WEB_MS" ] && gone "$WEB_PID" && WEB_MS=$NOW
    [ -z "$WORKER_MS" ] && gone "$WORKER_PID" && WORKER_MS=$NOW
    [ "$NOW" -gt 30000 ] && { echo "round $round: still running 30 s after SIG$SIGNAL" >&2; kill -9 "$WEB_PID" "$WORKER_PID" 2>/dev/null || true; }
    sleep 0.02
  done
  WEB_RC=0; wait "$WEB_PID" || WEB_RC=$?
  WORKER_RC=0; wait "$WORKER_PID" || WORKER_RC=$?
  start
  wait $LG || true
  for ms in $WEB_MS $WORKER_MS; do [ "$ms" -gt "$WORST" ] && WORST=$ms; done
  if [ "$WEB_RC" != 0 ] || [ "$WORKER_RC" != 0 ] || [ "$WEB_MS" -ge 10000 ] || [ "$WORKER_MS" -ge 10000 ]; then BAD=$((BAD + 1)); fi
  kind() { jq -r ".kinds[] | select(.kind==\"dose\") | $1" "$OUT/round-$round.json"; }
  echo "| $round | $WEB_MS ms (exit $WEB_RC) | $WORKER_MS ms (exit $WORKER_RC) | $(kind .e2e.expected) | $(kind .e2e.lost) | $(kind .e2e.duplicates) |"
done
echo
echo "$ROUNDS rounds of SIG$SIGNAL under load: slowest exit $WORST ms; rounds with an exit ≥ 10 s or a non-zero code: $BAD"
echo "Run of $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"

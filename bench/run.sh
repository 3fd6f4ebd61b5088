#!/usr/bin/env bash
# Reproduces every figure of docs/PERFORMANCE.md on one machine: starts a
# private Redis, two Twilio doubles and `sandesh web` + `sandesh worker`,
# measures the baselines (bare asynq, bare fiber, durable Kannel if installed)
# in the same run, runs the eight scenarios and prints one table. Needs Go,
# redis-server and jq; Kannel is optional (Debian: kannel kannel-extras).
#
#   bench/run.sh              # the full run (about 8 minutes)
#   QUICK=1 bench/run.sh      # shorter scenarios, for trying the script
#   ONLY="1 5" bench/run.sh   # some scenarios (7 comes with 1; 8 is 1's load on a local cluster)
#   PROFILE=1 bench/run.sh    # also CPU profiles of web and worker during scenarios 1 and 1b
#
# Reports and logs go to bench/out/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=$PWD/bench/out
if [ "${QUICK:-}" = 1 ]; then S1=15; S3=8; S4=15; S5=24; S6=12; BACKLOG=20000; else S1=60; S3=20; S4=30; S5=50; S6=25; BACKLOG=200000; fi
. bench/lib.sh
go build -o "$BIN/baseline" ./bench/baseline

REDIS_PORT=6390
SECRET=bench-secret-0123456789abcdef0123456789
ADMIN=bench-admin-key-0123456789abcdef
WEB=http://127.0.0.1:3100

start_redis() { # port [appendfsync]
  local port=$1 fsync=${2:-}
  local args=(--port "$port" --bind 127.0.0.1 --save "" --dir "$OUT" --dbfilename "dump-$port.rdb" --logfile "$OUT/redis-$port.log")
  if [ -n "$fsync" ]; then args+=(--appendonly yes --appendfsync "$fsync" --appendfilename "aof-$port-$fsync"); else args+=(--appendonly no); fi
  redis-server "${args[@]}" --daemonize no &
  PIDS+=($!); echo $! > "$OUT/redis-$port.pid"
  for _ in $(seq 1 200); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "redis-server on $port did not start; see $OUT/redis-$port.log" >&2; exit 1
}

start_double() { # name port [callbacks]
  "$BIN/smsdouble" -listen "127.0.0.1:$2" -account-sid $SID -auth-token $TOKEN -latency 2ms -jitter 3ms \
    -callbacks "${3-sent,delivered}" >>"$OUT/double-$1.log" 2>&1 &
  PIDS+=($!); eval "DOUBLE_$1=$!"
  for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$2/control" >/dev/null && return 0; sleep 0.05; done
  echo "smsdouble $1 did not start; see $OUT/double-$1.log" >&2; exit 1
}

write_config() { # redis_url listen
  cat >"$OUT/sandesh-$2.yaml" <<EOF
listen: 127.0.0.1:$2
public_url: $WEB
redis_url: $1
secret: $SECRET
admin_key: $ADMIN
ussd_token: bench
kyvs_verifier_per_hour: 100000000
log_level: warn
breaker: {failures: 5, open_for: 10s}
workers: {otp: 20, transactional: ${TX_WORKERS:-100}, bulk: ${BULK_WORKERS:-30}}
providers:
  - {name: primary, kind: twilio, account_sid: $SID, auth_token: $TOKEN, from: "+15005550006", base_url: "http://127.0.0.1:4010"}
  - {name: secondary, kind: twilio, account_sid: $SID, auth_token: $TOKEN, from: "+15005550006", base_url: "http://127.0.0.1:4011"}
EOF
}

start_web() { "$BIN/sandesh" --config "$OUT/sandesh-3100.yaml" web >>"$OUT/web.log" 2>&1 & WEB_PID=$!; PIDS+=($!); }
start_worker() { "$BIN/sandesh" --config "$OUT/sandesh-3101.yaml" worker >>"$OUT/worker.log" 2>&1 & WORKER_PID=$!; PIDS+=($!); }
wait_ready() { for _ in $(seq 1 400); do curl -fs "$1/readyz" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "not ready: $1" >&2; return 1; }

start_gateway() { # redis_url
  write_config "$1" 3100; write_config "$1" 3101
  start_web; start_worker
  wait_ready $WEB; wait_ready http://127.0.0.1:3101
}
stop_gateway() { kill -TERM "$WEB_PID" "$WORKER_PID" 2>/dev/null || true; wait "$WEB_PID" "$WORKER_PID" 2>/dev/null || true; }

loadgen() { # name args...
  local name=$1; shift
  LOADGEN_ADMIN_KEY=$ADMIN LOADGEN_AUTH_TOKEN=$TOKEN LOADGEN_USSD_TOKEN=bench \
    "$BIN/loadgen" -url $WEB -double http://127.0.0.1:4010 -reset-double -quiet -json "$OUT/$name.json" "$@" >"$OUT/$name.txt" 2>&1
}
j() { jq -r "$2" "$OUT/$1.json"; }
kind() { jq -r --arg k "$2" ".kinds[] | select(.kind==\$k) | $3" "$OUT/$1.json"; }
cpu_ms() { awk '{printf "%d", ($14 + $15) * 10}' "/proc/$1/stat"; } # utime+stime, 100 Hz ticks
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
now_ns() { date +%s%N; }
first_after() { # double-port since_ns → first accept time (ns) or 0
  local first
  first=$(set +o pipefail; curl -fs "http://127.0.0.1:$1/messages?since_unix_nano=$2" | head -1 | jq -r '.at_unix_nano // 0')
  echo "${first:-0}"
}
want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }
ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 |"); echo "  $1: $2 (target $3) — $4" >&2; }

start_redis $REDIS_PORT
REDIS=redis://127.0.0.1:$REDIS_PORT/0
start_double primary 4010
start_double secondary 4011
start_gateway $REDIS
# One dose a person a day: scenarios 1 and 1b register about as many people
# as they will dose before the timed run (four to a mobile), so that the
# run's requests are doses alone; what is sampled "before" is sampled once
# that setup is over (loadgen -ready-file). 6,000 a second of run is above
# any rate seen here; past them a dose registers its person first, and the
# row says how many did ("registered in the run"), since those registrations
# then share the rate and the memory per dose (scenario 8 does the same).
DOSE_PEOPLE=$((S1 * 6000))
registered() { jq -r '[.kinds[] | select(.kind=="register") | .requests] | add // 0' "$OUT/$1.json"; }
setup_done() { # name pid: wait for the loadgen run name (pid) to finish its setup, or to end
  until [ -e "$OUT/$1.ready" ] || ! kill -0 "$2" 2>/dev/null; do sleep 0.1; done
}

if want 1; then
# 1. Sustained outbound, beside bare asynq measured now.
echo "1. sustained outbound (${S1}s)" >&2
"$BIN/baseline" -mode asynq -redis redis://127.0.0.1:$REDIS_PORT/1 -n $((S1 * 1500)) >"$OUT/base-asynq.json"
redis-cli -p $REDIS_PORT -n 1 flushdb >/dev/null
BARE_ASYNQ=$(jq .rate_per_sec "$OUT/base-asynq.json")
# Durable Kannel beside it (bench/baseline/kannel.go); its failure is reported, not fatal.
KANNEL="Kannel not installed (apt-get install kannel kannel-extras)"; BARE_KANNEL=
if command -v bearerbox >/dev/null || [ -x /usr/sbin/bearerbox ]; then
  if "$BIN/baseline" -mode kannel -n $((S1 * 1500)) -concurrency 32 -dir "$OUT/kannel" >"$OUT/base-kannel.json" 2>"$OUT/base-kannel.err" \
    && BARE_KANNEL=$(jq -e .rate_per_sec "$OUT/base-kannel.json"); then
    KANNEL="$(printf %.0f "$BARE_KANNEL") SMS/s"; echo "  durable Kannel: $KANNEL" >&2
  else KANNEL="Kannel failed: $(tr '\n|' '  ' <"$OUT/base-kannel.err" | cut -c1-200)"; BARE_KANNEL=; echo "  $KANNEL" >&2; fi
fi
profile() { # name: CPU profiles of web and worker a third into the run
  [ "${PROFILE:-}" = 1 ] || return 0
  local secs=$((S1 / 3 < 20 ? S1 / 3 : 20))
  (sleep $((S1 / 3)); curl -fs -u ":$ADMIN" "$WEB/debug/pprof/profile?seconds=$secs" -o "$OUT/web-$1.pprof") &
  (sleep $((S1 / 3)); curl -fs -u ":$ADMIN" "http://127.0.0.1:3101/debug/pprof/profile?seconds=$secs" -o "$OUT/worker-$1.pprof") &
}
loadgen s1 -mix dose=1 -rate 0 -concurrency 128 -duration ${S1}s -beneficiaries 2000 -dose-people $DOSE_PEOPLE -drain 120s -ready-file "$OUT/s1.ready" &
LG=$!
setup_done s1 $LG
MEM_BEFORE=$(redis-cli -p $REDIS_PORT info memory | awk -F: '/^used_memory:/ {print $2+0}')
profile s1
wait $LG
DELIVERED=$(kind s1 dose .e2e.delivered)
S1_SECS=$(j s1 '.seconds + .e2e.drain_seconds')
S1_RATE=$(echo "$DELIVERED $S1_SECS" | awk '{printf "%.0f", $1/$2}')
row "1. confirmations delivered at the double" "$S1_RATE SMS/s, $(echo "$S1_RATE $BARE_ASYNQ" | awk '{printf "%.2f", $1/$2}') of bare asynq ($(printf %.0f "$BARE_ASYNQ")/s); API p99 $(kind s1 dose .latency.p99_ms) ms, e2e p99 $(kind s1 dose .e2e.latency.p99_ms) ms; lost $(kind s1 dose .e2e.lost)" "≥ 2,500 SMS/s" "$(kind s1 dose .requests) doses in ${S1}s, $(registered s1) registered in the run"

# 7. Memory after scenario 1.
MEM_AFTER=$(redis-cli -p $REDIS_PORT info memory | awk -F: '/^used_memory:/ {print $2+0}')
SAMPLE=$(set +o pipefail; redis-cli -p $REDIS_PORT --scan --pattern 'sandesh:msg:*' | head -500)
PER_HASH=$(for k in $SAMPLE; do redis-cli -p $REDIS_PORT memory usage "$k"; done | awk '{s+=$1; n++} END {printf "%.0f", s/n}')
PER_ALL=$(echo "$MEM_AFTER $MEM_BEFORE $DELIVERED" | awk '{printf "%.0f", ($1-$2)/$3}')
row "7. memory" "web RSS $(rss_mb $WEB_PID) MB, worker RSS $(rss_mb $WORKER_PID) MB; Redis $PER_HASH B per message record (MEMORY USAGE, 500 sampled), $PER_ALL B per message with its dose, history and index entries (used_memory delta; its beneficiary was registered before)" "< 150 MB each, ≤ 1,500 B per dose" "after scenario 1"

# 1b. The same load with the doubles posting no status callbacks, so the
# gateway's own path (API → store → queue → worker → provider) is what is
# compared with bare asynq.
echo "1b. sustained outbound, no status callbacks (${S1}s)" >&2
kill "$DOUBLE_primary" "$DOUBLE_secondary"; wait "$DOUBLE_primary" "$DOUBLE_secondary" 2>/dev/null || true
start_double primary 4010 none; start_double secondary 4011 none
TIMEFORMAT='%U %S'
{ time loadgen s1b -mix dose=1 -rate 0 -concurrency 128 -duration ${S1}s -beneficiaries 2000 -dose-people $DOSE_PEOPLE -drain 120s -ready-file "$OUT/s1b.ready"; } 2>"$OUT/s1b.time" &
LG=$!
setup_done s1b $LG
profile s1b
redis-cli -p $REDIS_PORT config resetstat >/dev/null
CPU_BEFORE="$(cpu_ms $WEB_PID) $(cpu_ms $WORKER_PID) $(cpu_ms "$(cat $OUT/redis-$REDIS_PORT.pid)") $(cpu_ms $DOUBLE_primary) $(cpu_ms $DOUBLE_secondary)"
wait $LG
redis-cli -p $REDIS_PORT info commandstats >"$OUT/commandstats-s1b.txt"
DELIVERED_B=$(kind s1b dose .e2e.delivered)
CPU_AFTER="$(cpu_ms $WEB_PID) $(cpu_ms $WORKER_PID) $(cpu_ms "$(cat $OUT/redis-$REDIS_PORT.pid)") $(cpu_ms $DOUBLE_primary) $(cpu_ms $DOUBLE_secondary)"
LOADGEN_MS=$(awk '{printf "%d", ($1 + $2) * 1000}' "$OUT/s1b.time") # its setup included
CPU_PER_SMS=$(echo "$CPU_BEFORE $CPU_AFTER $DELIVERED_B $LOADGEN_MS" | awk '{n=$11; printf "CPU per SMS: web %.0f µs, worker %.0f µs, Redis %.0f µs; load generator %.0f µs, doubles %.0f µs", ($6-$1)*1000/n, ($7-$2)*1000/n, ($8-$3)*1000/n, $12*1000/n, ($9-$4+$10-$5)*1000/n}')
S1B_RATE=$(echo "$DELIVERED_B $(j s1b '.seconds + .e2e.drain_seconds')" | awk '{printf "%.0f", $1/$2}')
[ -z "$BARE_KANNEL" ] || KANNEL="$(echo "$S1B_RATE $BARE_KANNEL" | awk '{printf "%.2f", $1/$2}') of Kannel ($KANNEL)"
row "1b. confirmations accepted at the double, no callbacks" "$S1B_RATE SMS/s, $(echo "$S1B_RATE $BARE_ASYNQ" | awk '{printf "%.2f", $1/$2}') of bare asynq, $KANNEL; API p99 $(kind s1b dose .latency.p99_ms) ms; lost $(kind s1b dose .e2e.lost)" "≥ 0.60 of bare asynq; stretch: ≥ 1.00 of Kannel" "$(kind s1b dose .requests) doses in ${S1}s, $(registered s1b) registered in the run; $CPU_PER_SMS"
kill "$DOUBLE_primary" "$DOUBLE_secondary"; wait "$DOUBLE_primary" "$DOUBLE_secondary" 2>/dev/null || true
start_double primary 4010; start_double secondary 4011
fi

if want 2; then
# 2. OTPs under a bulk backlog.
echo "2. OTP under a ${BACKLOG}-message bulk backlog" >&2
"$BIN/baseline" -mode backlog -redis $REDIS -n $BACKLOG -secret $SECRET >"$OUT/backlog.json"
loadgen s2 -mix kyvs=1 -rate 50 -duration 30s -beneficiaries 400 -drain 30s
LEFT=$(redis-cli -p $REDIS_PORT llen asynq:{bulk}:pending)
row "2. KYVS OTP, API accepted → SMS at the double, while the backlog drains" "p50 $(kind s2 kyvs .e2e.latency.p50_ms) ms, p99 $(kind s2 kyvs .e2e.latency.p99_ms) ms, lost $(kind s2 kyvs .e2e.lost)" "p99 < 50 ms" "$(jq .queued "$OUT/backlog.json") bulk queued in $(jq '.seconds|floor' "$OUT/backlog.json") s; $LEFT still pending after the OTP run"
until [ "$(redis-cli -p $REDIS_PORT llen asynq:{bulk}:pending)" = 0 ]; do sleep 1; done
fi

if want 3; then
# 3. Inbound keyword webhooks, beside a bare fiber form handler.
echo "3. inbound (${S3}s)" >&2
"$BIN/baseline" -mode fiber -duration ${S3}s -concurrency 64 >"$OUT/base-fiber.json"
loadgen s3 -mix inbound=1 -rate 0 -concurrency 64 -duration ${S3}s -beneficiaries 4000 -drain 30s
IN_RATE=$(kind s3 inbound '.rate_per_sec|floor')
BARE_FIBER=$(jq '.rate_per_sec|floor' "$OUT/base-fiber.json")
row "3. signed inbound keyword SMS" "$IN_RATE req/s, p99 $(kind s3 inbound .latency.p99_ms) ms; $(echo "$IN_RATE $BARE_FIBER" | awk '{printf "%.2f", $1/$2}') of bare fiber ($BARE_FIBER req/s, p99 $(jq .p99_ms "$OUT/base-fiber.json") ms)" "≥ 3,000 req/s, ≥ 0.30 of bare fiber in process" "replies lost $(kind s3 inbound .e2e.lost)"
fi

if want 4; then
# 4. Crash drill: kill -9 the worker mid-run.
echo "4. crash drill (${S4}s)" >&2
loadgen s4 -mix dose=1 -rate 800 -duration ${S4}s -beneficiaries 2000 -drain 120s &
LG=$!
sleep $((S4 / 3)); kill -9 $WORKER_PID; KILLED=$(now_ns); sleep 1; start_worker
wait $LG || true
row "4. worker killed with SIGKILL mid-run, restarted 1 s later" "lost $(kind s4 dose .e2e.lost) of $(kind s4 dose .e2e.expected), duplicates $(kind s4 dose .e2e.duplicates), worst e2e $(kind s4 dose .e2e.latency.max_ms) ms" "0 lost, duplicates ≤ 50 (concurrency)" "worst e2e ≈ time until the last in-flight message was delivered"
fi

if want 5; then
# 5. Outage drill: primary down, secondary up. loadgen reads the primary's
# record; what failed over is counted at the secondary.
echo "5. outage drill (${S5}s)" >&2
curl -fs -X POST http://127.0.0.1:4011/reset >/dev/null
loadgen s5 -mix dose=1 -rate 400 -duration ${S5}s -beneficiaries 2000 -drain 20s &
LG=$!
sleep $((S5 / 5))
curl -fs -X POST -d '{"state":"down"}' http://127.0.0.1:4010/control >/dev/null; DOWN=$(now_ns)
sleep $((S5 * 3 / 5))
curl -fs -X POST -d '{"state":"up"}' http://127.0.0.1:4010/control >/dev/null; UP=$(now_ns)
wait $LG || true
FAILOVER=$(( ($(first_after 4011 "$DOWN") - DOWN) / 1000000 ))
BACK=$(( ($(first_after 4010 "$UP") - UP) / 1000000 ))
AT_SECONDARY=$(curl -fs http://127.0.0.1:4011/record | jq .accepted)
until [ $(( $(kind s5 dose .e2e.delivered) + AT_SECONDARY )) -ge "$(kind s5 dose .e2e.expected)" ] || [ "${WAITED:-0}" -ge 60 ]; do
  sleep 1; WAITED=$(( ${WAITED:-0} + 1 )); AT_SECONDARY=$(curl -fs http://127.0.0.1:4011/record | jq .accepted)
done
LOST5=$(( $(kind s5 dose .e2e.expected) - $(kind s5 dose .e2e.delivered) - AT_SECONDARY ))
row "5. primary down for $((S5 * 3 / 5)) s, secondary up" "lost $((LOST5 < 0 ? 0 : LOST5)) of $(kind s5 dose .e2e.expected) ($(kind s5 dose .e2e.delivered) at the primary, $AT_SECONDARY at the secondary), first SMS at the secondary $FAILOVER ms after the outage began, back on the primary $BACK ms after it ended (open_for 10 s), e2e p99 $(kind s5 dose .e2e.latency.p99_ms) ms, max $(kind s5 dose .e2e.latency.max_ms) ms" "0 lost, failover < 1 s, primary probed after open_for" "primary rejected $(curl -fs http://127.0.0.1:4010/record | jq .rejected.down) calls while down; e2e of the SMS at the primary only"
fi

# 6. Redis restart with AOF.
want 6 && for FSYNC in everysec always; do
  echo "6. Redis restart, appendfsync $FSYNC (${S6}s)" >&2
  stop_gateway
  PORT=$([ $FSYNC = always ] && echo 6392 || echo 6391)
  start_redis $PORT $FSYNC
  start_gateway redis://127.0.0.1:$PORT/0
  loadgen s6-$FSYNC -mix dose=1 -rate 200 -duration ${S6}s -beneficiaries 500 -drain 120s &
  LG=$!
  sleep $((S6 / 3))
  kill -TERM "$(cat $OUT/redis-$PORT.pid)"; while kill -0 "$(cat $OUT/redis-$PORT.pid)" 2>/dev/null; do sleep 0.05; done
  T0=$(now_ns); sleep 0.5
  READY=$(curl -s -o /dev/null -w '%{http_code} in %{time_total}s' $WEB/readyz)
  sleep 2.5
  start_redis $PORT $FSYNC; T1=$(now_ns)
  until curl -fs $WEB/readyz >/dev/null 2>&1; do sleep 0.02; done; T2=$(now_ns)
  wait $LG || true
  row "6. Redis (AOF, appendfsync $FSYNC) restarted mid-run" "statuses $(kind s6-$FSYNC dose '.statuses|tostring'), lost $(kind s6-$FSYNC dose .e2e.lost) of $(kind s6-$FSYNC dose .e2e.expected), duplicates $(kind s6-$FSYNC dose .e2e.duplicates); /readyz while away: $READY; ready $(( (T2 - T1) / 1000000 )) ms after Redis was back" "every 2xx delivered; 503 (not 500, no hang); recovers alone" "Redis away $(( (T1 - T0) / 1000000 + 500 )) ms"
done
stop_gateway

# 8. Scenario 1's load on a local Redis Cluster of three masters: first
# with a replica each, so that every step the API acknowledges waits for
# it (WAIT 1), then without replicas (no WAIT): the cluster's rate beside
# the single Redis of scenario 1, and what WAIT costs.
start_cluster() { # replicas (1 or 0): a cluster of three masters
  local replicas=$1 n=$(( $1 == 1 ? 6 : 3 )) addrs=() port
  CLUSTER_PORTS=()
  for i in $(seq 0 $((n - 1))); do
    port=$((7100 + i))
    redis-server --port $port --bind 127.0.0.1 --save "" --appendonly no --cluster-enabled yes \
      --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 2000 --dir "$OUT" --dbfilename "dump-$port.rdb" \
      --logfile "$OUT/redis-$port.log" --daemonize no &
    PIDS+=($!); echo $! > "$OUT/redis-$port.pid"; CLUSTER_PORTS+=($port); addrs+=(127.0.0.1:$port)
  done
  for port in "${CLUSTER_PORTS[@]}"; do until redis-cli -p $port ping >/dev/null 2>&1; do sleep 0.05; done; done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas $replicas --cluster-yes >"$OUT/cluster-$replicas.log" 2>&1
  for port in "${CLUSTER_PORTS[@]}"; do
    until redis-cli -p $port cluster info | grep -q cluster_state:ok; do sleep 0.1; done
  done
  CLUSTER_URL="redis+cluster://${addrs[0]}?$(printf 'addr=%s&' "${addrs[@]:1}")"
  CLUSTER_URL=${CLUSTER_URL%&}
}
stop_cluster() {
  for port in "${CLUSTER_PORTS[@]}"; do
    kill -9 "$(cat "$OUT/redis-$port.pid")" 2>/dev/null || true
    while kill -0 "$(cat "$OUT/redis-$port.pid")" 2>/dev/null; do sleep 0.05; done
    rm -f "$OUT/nodes-$port.conf" "$OUT/dump-$port.rdb" # a replica's full sync writes its RDB there
  done
}
cluster_cpu_ms() { local t=0 port; for port in "${CLUSTER_PORTS[@]}"; do t=$((t + $(cpu_ms "$(cat "$OUT/redis-$port.pid")"))); done; echo $t; }
cluster_used_memory() { # the masters'
  local t=0 port
  for port in "${CLUSTER_PORTS[@]}"; do
    redis-cli -p $port role | head -1 | grep -q master || continue
    t=$((t + $(redis-cli -p $port info memory | awk -F: '/^used_memory:/ {print $2+0}')))
  done
  echo $t
}
want 8 && for REPLICAS in 1 0; do
  echo "8. scenario 1 on a cluster of 3 masters, $REPLICAS replica each (${S1}s)" >&2
  start_cluster $REPLICAS
  start_gateway "$CLUSTER_URL"
  loadgen s8-$REPLICAS -mix dose=1 -rate 0 -concurrency 128 -duration ${S1}s -beneficiaries 2000 -dose-people $DOSE_PEOPLE -drain 120s -ready-file "$OUT/s8-$REPLICAS.ready" &
  LG=$!
  setup_done s8-$REPLICAS $LG
  for port in "${CLUSTER_PORTS[@]}"; do redis-cli -p $port config resetstat >/dev/null; done
  CPU_BEFORE=$(cluster_cpu_ms); MEM_BEFORE=$(cluster_used_memory)
  wait $LG
  CPU_AFTER=$(cluster_cpu_ms); MEM_AFTER=$(cluster_used_memory)
  for port in "${CLUSTER_PORTS[@]}"; do echo "# $port $(redis-cli -p $port role | head -1)"; redis-cli -p $port info commandstats; done >"$OUT/commandstats-s8-$REPLICAS.txt"
  D8=$(kind s8-$REPLICAS dose .e2e.delivered)
  R8=$(echo "$D8 $(j s8-$REPLICAS '.seconds + .e2e.drain_seconds')" | awk '{printf "%.0f", $1/$2}')
  eval "S8_RATE_$REPLICAS=$R8"
  if [ -n "${S1_RATE:-}" ]; then BESIDE=$(echo "$R8 $S1_RATE" | awk '{printf "%.2f of the single Redis (%d/s, scenario 1)", $1/$2, $2}'); else BESIDE="single Redis not run"; fi
  if [ $REPLICAS = 1 ]; then SHAPE="3 masters with a replica each, WAIT 1"; else SHAPE="3 masters, no replicas, no WAIT"; fi
  row "8. scenario 1 on a local cluster, $SHAPE" "$R8 SMS/s, $BESIDE; API p99 $(kind s8-$REPLICAS dose .latency.p99_ms) ms, e2e p99 $(kind s8-$REPLICAS dose .e2e.latency.p99_ms) ms; lost $(kind s8-$REPLICAS dose .e2e.lost)" "not much slower than one Redis (2 cores)" "$(kind s8-$REPLICAS dose .requests) doses, $(registered s8-$REPLICAS) registered in the run; Redis CPU per SMS $(echo "$CPU_BEFORE $CPU_AFTER $D8" | awk '{printf "%.0f", ($2-$1)*1000/$3}') µs (all nodes), $(echo "$MEM_BEFORE $MEM_AFTER $D8" | awk '{printf "%.0f", ($2-$1)/$3}') B per dose (masters)"
  stop_gateway
  stop_cluster
done
if [ -n "${S8_RATE_1:-}" ] && [ -n "${S8_RATE_0:-}" ]; then
  row "8. what WAIT costs" "$(echo "$S8_RATE_1 $S8_RATE_0" | awk '{printf "%.2f", $1/$2}') of the rate without replicas ($S8_RATE_1 against $S8_RATE_0 SMS/s)" "measured" "same run"
fi

echo
echo "Run of $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(redis-server --version | awk '{print $3}'), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
echo
echo "| scenario | measured | target | notes |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"

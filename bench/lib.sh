# Sourced by bench/run.sh and bench/stopdrill.sh once OUT is set: a fresh
# $OUT with the binaries they run in $BIN, the tools they need checked,
# every process they start (listed in PIDS) killed on exit, and the Twilio
# account the doubles and the gateway share.
BIN=$OUT/bin
rm -rf "$OUT" && mkdir -p "$BIN"

for tool in redis-server redis-cli jq; do
  command -v "$tool" >/dev/null || { echo "$0 needs $tool (Debian: apt-get install redis-server jq)" >&2; exit 1; }
done

echo "building..." >&2
go build -o "$BIN/sandesh" ./cmd/sandesh
go build -o "$BIN/smsdouble" ./cmd/smsdouble
go build -o "$BIN/loadgen" ./cmd/loadgen

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

SID=ACbe0cbe0cbe0cbe0cbe0cbe0cbe0cbe0c
TOKEN=be0cbe0cbe0cbe0cbe0cbe0cbe0cbe0c

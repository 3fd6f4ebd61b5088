#!/usr/bin/env bash
# Drives the layout-1 release (commit b375d15) to fill a Redis with a small,
# realistic data set, then dumps every key of DB 0 to dump.json.
#
# Run from a checkout of b375d15 that has cmd/dumpfixture (see README.md):
#   go build -o /tmp/l1bin/sandesh ./cmd/sandesh
#   go build -o /tmp/l1bin/dumpfixture ./cmd/dumpfixture
#   redis-server --port 6390 --save "" --appendonly no --daemonize yes
#   OUT=/path/to/store/testdata/layout1 ./make.sh
# Everything the run learns (keys, ids, codes) goes to $WORK/run.env and
# $WORK/*.json; facts.json is written from them by the last step.
set -euo pipefail

BIN=${BIN:-/tmp/l1bin/sandesh}
DUMP=${DUMP:-/tmp/l1bin/dumpfixture}
WORK=${WORK:-/tmp/l1run/work}
OUT=${OUT:-/tmp/l1run/out}
RPORT=${RPORT:-6390}
WEB=127.0.0.1:3190
WORKER_LISTEN=127.0.0.1:3191
CFG=$WORK/l1cfg.yaml
ADMIN=fixture-admin-key-0123456789abcdef
SECRET=fixture-secret-0123456789abcdef-0123456789
R="redis-cli -p $RPORT -n 0"

rm -rf "$WORK" && mkdir -p "$WORK" "$OUT"
cat >"$CFG" <<EOF
listen: $WEB
public_url: http://$WEB
redis_url: redis://127.0.0.1:$RPORT/0
secret: $SECRET
admin_key: $ADMIN
default_region: IN
timezone: Asia/Kolkata
languages: [en, hi, mr]
log_level: info
providers:
  - name: console
    kind: console
workers:
  otp: 2
  transactional: 4
  bulk: 2
reminders:
  enabled: false          # runs are started by hand below (POST /v1/admin/reminders/run)
  hours: "09:00-21:00"
  at: "10:00"
EOF

TODAY=$(TZ=Asia/Kolkata date +%F)
PLUS3=$(TZ=Asia/Kolkata date -d '+3 days' +%F)
PLUS7=$(TZ=Asia/Kolkata date -d '+7 days' +%F)
echo "today (Asia/Kolkata) $TODAY"
# The run must not cross midnight in Asia/Kolkata: "today" is baked into bookings.
if [ "$(TZ=Asia/Kolkata date +%H%M)" -gt 2355 ]; then echo "too close to midnight IST; wait" >&2; exit 1; fi

env_put() { echo "$1=$2" >>"$WORK/run.env"; }
env_put TODAY "$TODAY"; env_put PLUS3 "$PLUS3"; env_put PLUS7 "$PLUS7"

# api METHOD PATH KEY [BODY] [IDEMPOTENCY-KEY]: prints the body; saves status in $WORK/last.status
api() {
  local m=$1 p=$2 k=$3 body=${4:-} idem=${5:-}
  local args=(-s -o "$WORK/last.body" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $k")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  [ -n "$idem" ] && args+=(-H "Idempotency-Key: $idem")
  curl "${args[@]}" "http://$WEB$p" >"$WORK/last.status"
  echo "$m $p -> $(cat "$WORK/last.status") $(head -c 300 "$WORK/last.body")" >>"$WORK/api.log"
  cat "$WORK/last.body"
}
expect() { local s; s=$(cat "$WORK/last.status"); [ "$s" = "$1" ] || { echo "expected $1, got $s: $(cat "$WORK/last.body")" >&2; exit 1; }; }

# body_of MSGID: the body the console provider printed for that message
body_of() {
  python3 - "$WORK/worker.out" "$1" <<'PY'
import sys, re
text = open(sys.argv[1], encoding="utf-8").read()
for block in text.split("── SMS to ")[1:]:
    head, _, body = block.partition("\n")
    if head.rstrip().endswith("message " + sys.argv[2] + ")"):
        print(body.strip()); break
PY
}
# code_in TEXT: the last standalone 4-digit run (the security code)
code_in() { python3 -c 'import re,sys; m=re.findall(r"(?<![\d\-:])\d{4}(?![\d\-])", sys.argv[1]); print(m[-1] if m else "")' "$1"; }
otp_in() { python3 -c 'import re,sys; m=re.findall(r"(?<!\d)\d{6}(?!\d)", sys.argv[1]); print(m[-1] if m else "")' "$1"; }
wait_body() { # MSGID: waits until the worker printed it
  for _ in $(seq 100); do b=$(body_of "$1"); [ -n "$b" ] && { echo "$b"; return; }; sleep 0.2; done
  echo "message $1 never printed" >&2; exit 1
}
wait_idle() { # until no message is pending but reminders (dose_due waits for reminders.hours)
  for _ in $(seq 150); do
    n=0; for m in $($R zrange sandesh:msgs:pending 0 -1); do [ "$($R hget "sandesh:msg:$m" template)" = dose_due ] || n=$((n+1)); done
    [ $n = 0 ] && return; sleep 0.2
  done
  echo "messages still pending:" >&2; $R zrange sandesh:msgs:pending 0 -1 >&2
}
wait_ready() { for _ in $(seq 100); do curl -sf "http://$1/readyz" >/dev/null && return; sleep 0.2; done; echo "$1 not ready" >&2; exit 1; }
sim_sms() { # MOBILE BODY: a citizen's SMS through the simulator page (console provider)
  curl -s -o /dev/null -w "sim sms $1 $2 -> %{http_code}\n" --data-urlencode "mobile=$1" --data-urlencode "body=$2" "http://$WEB/simulator/sms" >>"$WORK/api.log"
}
ben_of() { # MOBILE NAME: the id of the beneficiary called NAME on MOBILE (E.164)
  for id in $($R zrange "sandesh:mobile:$1:bens" 0 -1); do
    [ "$($R hget "sandesh:ben:$id" name)" = "$2" ] && { echo "$id"; return; }
  done
}

echo "== flush and demo data"
$R flushdb >/dev/null
"$BIN" --config "$CFG" demo >"$WORK/demo.out" 2>"$WORK/demo.err"
for role in admin registry verifier support; do
  env_put "DEMO_KEY_$role" "$(awk -v r="$role" '$1==r {print $2}' "$WORK/demo.out")"
done
env_put DEMO_KEY_center_C1 "$(awk '$1=="center" {print $3}' "$WORK/demo.out")"

echo "== start web and worker"
"$BIN" --config "$CFG" web >"$WORK/web.out" 2>"$WORK/web.err" &
WEB_PID=$!
SANDESH_LISTEN=$WORKER_LISTEN "$BIN" --config "$CFG" worker >"$WORK/worker.out" 2>"$WORK/worker.err" &
WORKER_PID=$!
trap 'kill $WEB_PID $WORKER_PID 2>/dev/null || true' EXIT
wait_ready "$WEB"; wait_ready "$WORKER_LISTEN"
wait_idle

echo "== API keys"
mk_key() { # NAME ROLE NAME [CENTRE]
  local body; body=$(jq -nc --arg r "$2" --arg n "$3" --arg c "${4:-}" '{role:$r,name:$n} + (if $c=="" then {} else {center_id:$c} end)')
  api POST /v1/admin/keys "$ADMIN" "$body" >"$WORK/key_$1.json"; expect 201
  env_put "KEY_$1" "$(jq -r .key "$WORK/key_$1.json")"; env_put "KEYID_$1" "$(jq -r .id "$WORK/key_$1.json")"
}
mk_key registry registry "Fixture registry"
mk_key verifier verifier "Fixture verifier"
mk_key support support "Fixture helpline"
mk_key admin2 admin "Fixture second admin"
mk_key center_C1 center "Fixture PHC Aundh desk" C1
mk_key revoked registry "Fixture revoked registry"
. "$WORK/run.env"
api DELETE "/v1/admin/keys/$KEYID_revoked" "$ADMIN" >/dev/null; expect 204

echo "== centres"
api POST /v1/centers "$KEY_registry" '{"id":"C9","name":"Fixture UPHC Baner","district":"Pune","state":"Maharashtra","pincode":"411045"}' idem-center-C9 >/dev/null; expect 201
api POST /v1/centers "$KEY_registry" '{"id":"C8","name":"Fixture PHC Wakad","district":"Pune","state":"Maharashtra","pincode":"411057"}' >/dev/null; expect 201
mk_key center_C9 center "Fixture UPHC Baner desk" C9
. "$WORK/run.env"

echo "== beneficiaries"
reg() { # VAR IDEM JSON
  api POST /v1/beneficiaries "$KEY_registry" "$3" "$2" >"$WORK/ben_$1.json"; expect 201
  env_put "BEN_$1" "$(jq -r .id "$WORK/ben_$1.json")"
}
reg anil idem-reg-anil '{"name":"Anil Kulkarni","mobile":"9876500010","birth_year":1972,"gender":"M","language":"mr"}'
reg kavita idem-reg-kavita '{"name":"Kavita Kulkarni","mobile":"+91 98765 00010","birth_year":1975,"gender":"F","language":"mr"}'
reg rohan "" '{"name":"Rohan Kulkarni","mobile":"09876500010","birth_year":2001,"gender":"M","language":"en"}'
reg deepa idem-reg-deepa '{"name":"Deepa Nair","mobile":"9876500011","birth_year":1985,"gender":"F","language":"en"}'
reg imran "" '{"name":"Imran Khan","mobile":"9876500012","birth_year":1992,"gender":"M","language":"hi"}'
# an idempotent replay: same key, same body, same answer, nothing new
api POST /v1/beneficiaries "$KEY_registry" '{"name":"Anil Kulkarni","mobile":"9876500010","birth_year":1972,"gender":"M","language":"mr"}' idem-reg-anil >"$WORK/ben_anil_replay.json"; expect 201
. "$WORK/run.env"
[ "$(jq -r .id "$WORK/ben_anil_replay.json")" = "$BEN_anil" ] || { echo "replay gave another id" >&2; exit 1; }

# the demo's people
for pair in "asha:+919876500001:Asha Patil" "suresh:+919876500001:Suresh Patil" "meera:+919876500001:Meera Patil" \
  "ramesh:+919876500002:रमेश कुमार" "sunita:+919876500002:सुनीता देवी" "priya:+919876500003:Priya Sharma" \
  "rahul:+919876500003:Rahul Sharma" "vijay:+919876500004:विजय जाधव" "fatima:+919876500005:Fatima Shaikh" \
  "joseph:+919876500006:Joseph D'Souza"; do
  IFS=: read -r var mob name <<<"$pair"
  env_put "BEN_$var" "$(ben_of "$mob" "$name")"
done
. "$WORK/run.env"
for v in asha suresh ramesh rahul; do
  id=$($R hget "sandesh:ben:$(eval echo \$BEN_$v)" active_appt); env_put "APPT_$v" "$id"
done
. "$WORK/run.env"

echo "== codes of today's demo slips"
msgs_of() { # MOBILE TEMPLATE: that mobile's message ids of that template, oldest first
  for m in $($R lrange "sandesh:mobile:$1:msgs" 0 -1 | tac); do
    [ "$($R hget "sandesh:msg:$m" template)" = "$2" ] && echo "$m"
  done
  true
}
for v in asha suresh ramesh rahul; do
  ben=$(eval echo \$BEN_$v)
  for m in $(msgs_of "$($R hget "sandesh:ben:$ben" mobile)" appointment_slip); do
    c=$(code_in "$(body_of "$m")")
    [ -n "$c" ] && echo "$v $m $c" >>"$WORK/slips.txt"
  done
done
echo "(slips.txt lists candidate codes; verify-code picks the right one)"

echo "== used appointment: Asha at C1 today, verify-code then the dose"
try_codes() { # VAR KEY: finds the code of APPT_VAR among slips.txt by verify-code (a wrong one costs a try)
  local v=$1 key=$2 appt; appt=$(eval echo \$APPT_$v)
  for c in $(awk -v v="$v" '$1==v {print $3}' "$WORK/slips.txt" | sort -u); do
    api POST "/v1/appointments/$appt/verify-code" "$key" "{\"code\":\"$c\"}" >/dev/null
    [ "$(cat "$WORK/last.status")" = 200 ] && { env_put "CODE_$v" "$c"; return; }
  done
  echo "no code found for $v" >&2; exit 1
}
try_codes asha "$KEY_center_C1"
. "$WORK/run.env"
api POST /v1/doses "$KEY_center_C1" "{\"beneficiary_id\":\"$BEN_asha\",\"appointment_id\":\"$APPT_asha\",\"code\":\"$CODE_asha\",\"vaccine\":\"COVISHIELD\",\"batch\":\"4121Z025\"}" idem-dose-asha >"$WORK/dose_asha.json"; expect 201
# replayed: the first answer again, no second dose or SMS
api POST /v1/doses "$KEY_center_C1" "{\"beneficiary_id\":\"$BEN_asha\",\"appointment_id\":\"$APPT_asha\",\"code\":\"$CODE_asha\",\"vaccine\":\"COVISHIELD\",\"batch\":\"4121Z025\"}" idem-dose-asha >/dev/null; expect 201

echo "== walk-in dose: Deepa at C9 (dose 1 of COVAXIN)"
api POST /v1/doses "$KEY_center_C9" "{\"beneficiary_id\":\"$BEN_deepa\",\"vaccine\":\"COVAXIN\",\"batch\":\"CVX-77\"}" idem-dose-deepa >"$WORK/dose_deepa.json"; expect 201

echo "== cancelled: Ramesh's booking at C2"
api POST "/v1/appointments/$APPT_ramesh/cancel" "$KEY_registry" '' idem-cancel-ramesh >"$WORK/cancel_ramesh.json"; expect 200

echo "== active today: Rahul at C3 (code verified without using it), Suresh at C1"
try_codes rahul "$ADMIN"
try_codes suresh "$KEY_center_C1"
# one wrong code on Suresh's booking: attempts counted
api POST "/v1/appointments/$APPT_suresh/verify-code" "$KEY_center_C1" '{"code":"0000"}' >/dev/null || true
[ "$(cat "$WORK/last.status")" = 422 ] || [ "$CODE_suresh" = 0000 ]

echo "== future booking: Anil at C9 on $PLUS7"
api POST /v1/appointments "$KEY_registry" "{\"beneficiary_id\":\"$BEN_anil\",\"center_id\":\"C9\",\"date\":\"$PLUS7\",\"slot\":\"11:00-13:00\",\"dose\":1}" idem-book-anil >"$WORK/appt_anil.json"; expect 201
env_put APPT_anil "$(jq -r .id "$WORK/appt_anil.json")"
. "$WORK/run.env"
b=$(wait_body "$(jq -r .message_id "$WORK/appt_anil.json")"); env_put CODE_anil "$(code_in "$b")"

echo "== support: resend Rahul's code (same code), with a reason"
api POST /v1/support/resend "$KEY_support" "{\"appointment_id\":\"$APPT_rahul\",\"what\":\"security_code\",\"reason\":\"caller lost the SMS\"}" idem-resend-rahul >"$WORK/resend_rahul.json"; expect 202
api GET "/v1/support/messages?mobile=9876500003" "$KEY_support" >/dev/null; expect 200

echo "== KYVS: Meera checked (OTP confirmed), Joseph's left open"
api POST /v1/kyvs/otp "$KEY_verifier" '{"name":"meera  patil","mobile":"9876500001"}' >"$WORK/kyvs_meera.json"; expect 202
env_put TXN_meera "$(jq -r .txn_id "$WORK/kyvs_meera.json")"
. "$WORK/run.env"
for _ in $(seq 50); do
  otpmsg=$(msgs_of +919876500001 kyvs_otp | tail -1)
  [ -n "$otpmsg" ] && break; sleep 0.2
done
otp=$(otp_in "$(wait_body "$otpmsg")")
api POST /v1/kyvs/confirm "$KEY_verifier" "{\"txn_id\":\"$TXN_meera\",\"otp\":\"$otp\"}" >"$WORK/kyvs_meera_confirm.json"; expect 200
api POST /v1/kyvs/otp "$KEY_verifier" "{\"name\":\"Joseph D'Souza\",\"mobile\":\"9876500006\"}" >"$WORK/kyvs_joseph.json"; expect 202
env_put TXN_joseph "$(jq -r .txn_id "$WORK/kyvs_joseph.json")"
api POST /v1/kyvs/otp "$KEY_verifier" '{"name":"Nobody Here","mobile":"9876500005"}' >/dev/null; expect 202

echo "== keywords and USSD through the simulator"
sim_sms +919876500001 STATUS
sim_sms +919876500003 HELP
sim_sms +919876500003 CARD
sim_sms +919876500002 SLIP
sim_sms +919876500010 "LANG HI"
sim_sms +919876500006 STOP
sim_sms +919876500004 "code 7556 please"
curl -s -o /dev/null --data-urlencode mobile=+919876500005 --data-urlencode action=dial "http://$WEB/simulator/ussd"

echo "== a support console session (signed in, left open)"
jar=$WORK/cookies.txt
page=$(curl -s -c "$jar" -b "$jar" "http://$WEB/support")
csrf=$(grep -o 'name="csrf" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
curl -s -o /dev/null -w "support signin -> %{http_code}\n" -c "$jar" -b "$jar" --data-urlencode "csrf=$csrf" --data-urlencode "api_key=$KEY_support" "http://$WEB/support/signin" >>"$WORK/api.log"
curl -s -o /dev/null -c "$jar" -b "$jar" "http://$WEB/support/search?mobile=9876500002"

echo "== reminders: the run for the day Priya's second dose opened"
PRIYA_DUE=$($R hget "sandesh:ben:$BEN_priya" due); env_put PRIYA_DUE "$PRIYA_DUE"
api POST /v1/admin/reminders/run "$ADMIN" "{\"date\":\"$PRIYA_DUE\"}" >"$WORK/reminders_priya.json"; expect 200

sleep 1; wait_idle
sleep 1

echo "== stop the worker (SIGTERM)"
kill -TERM $WORKER_PID; wait $WORKER_PID || true

echo "== batch A: SMS a second worker claims and is SIGKILLed sending (in flight)"
api POST /v1/appointments "$KEY_registry" "{\"beneficiary_id\":\"$BEN_rohan\",\"center_id\":\"C8\",\"date\":\"$PLUS3\",\"slot\":\"14:00-16:00\",\"dose\":1}" idem-book-rohan >"$WORK/appt_rohan.json"; expect 201
env_put APPT_rohan "$(jq -r .id "$WORK/appt_rohan.json")"
sim_sms +919876500005 STATUS
sim_sms +919876500012 HELP
sleep 0.5
# The console provider prints each SMS to stdout: give the worker a pipe that
# is already full (4 KiB, never read), so its first print blocks mid-send with
# the message claimed (status sending, in msgs:inflight); then kill -9 it.
python3 - "$BIN" "$CFG" "$WORK" <<'PY' &
import os, fcntl, subprocess, sys, time
bin_, cfg, work = sys.argv[1:4]
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)            # F_SETPIPE_SZ
os.write(w, b"#" * fcntl.fcntl(w, 1032))  # F_GETPIPE_SZ: fill it
env = dict(os.environ, SANDESH_LISTEN="127.0.0.1:3192")
p = subprocess.Popen([bin_, "--config", cfg, "worker"], stdout=w, stderr=open(work + "/worker2.err", "w"), env=env)
open(work + "/worker2.pid", "w").write(str(p.pid))
p.wait()                               # keeps the read end open while it lives
PY
HOLDER_PID=$!
for _ in $(seq 100); do [ -s "$WORK/worker2.pid" ] && [ "$($R zcard sandesh:msgs:inflight)" -ge 3 ] && break; sleep 0.2; done
sleep 1
env_put WORKER2_PID "$(cat "$WORK/worker2.pid")"
kill -KILL "$(cat "$WORK/worker2.pid")"; wait $HOLDER_PID || true
echo "in flight: $($R zcard sandesh:msgs:inflight)"

echo "== batch B: SMS left pending (no worker runs)"
api POST /v1/appointments "$KEY_registry" "{\"beneficiary_id\":\"$BEN_kavita\",\"center_id\":\"C8\",\"date\":\"$PLUS3\",\"slot\":\"09:00-11:00\",\"dose\":1}" idem-book-kavita >"$WORK/appt_kavita.json"; expect 201
env_put APPT_kavita "$(jq -r .id "$WORK/appt_kavita.json")"
api POST /v1/support/resend "$ADMIN" "{\"appointment_id\":\"$APPT_anil\",\"what\":\"slip\",\"reason\":\"citizen asked again\"}" >"$WORK/resend_anil.json"; expect 202
api POST /v1/doses "$KEY_center_C9" "{\"beneficiary_id\":\"$BEN_imran\",\"vaccine\":\"CORBEVAX\",\"batch\":\"CBX-9\"}" >"$WORK/dose_imran.json"; expect 201
api POST /v1/kyvs/otp "$KEY_verifier" '{"name":"Deepa Nair","mobile":"9876500011"}' >"$WORK/kyvs_deepa.json"; expect 202
sim_sms +919876500011 STATUS
SURESH_DUE=$($R hget "sandesh:ben:$BEN_suresh" due); env_put SURESH_DUE "$SURESH_DUE"
api POST /v1/admin/reminders/run "$ADMIN" "{\"date\":\"$SURESH_DUE\"}" >"$WORK/reminders_suresh.json"; expect 200

echo "== batch C: an answer owed (STATUS stored and owed; the step recording the reply refused)"
# The reply's step (createScript) starts with EXISTS; the inbound step uses none.
# Denying EXISTS for a moment leaves the debt in sandesh:notify:owed, as a web
# process that died between the two steps would.
$R acl setuser default -exists >/dev/null
sim_sms +919876500012 STATUS
sleep 1
$R acl setuser default +exists >/dev/null
echo "== read back every beneficiary and appointment through the API (for facts.json)"
mkdir -p "$WORK/get"
for k in $($R --scan --pattern 'sandesh:ben:*'); do id=${k#sandesh:ben:}; api GET "/v1/beneficiaries/$id" "$KEY_registry" >"$WORK/get/ben_$id.json"; done
for k in $($R --scan --pattern 'sandesh:appt:*'); do id=${k#sandesh:appt:}; api GET "/v1/appointments/$id" "$KEY_registry" >"$WORK/get/appt_$id.json"; done
sleep 0.5
kill -TERM $WEB_PID; wait $WEB_PID || true
trap - EXIT

echo "== dump"
"$DUMP" -redis "redis://127.0.0.1:$RPORT/0" -o "$OUT/dump.json"

echo "== facts"
python3 - "$WORK" "$OUT" <<'PY'
import json, os, sys, glob, collections
work, out = sys.argv[1:3]
env = dict(l.rstrip("\n").split("=", 1) for l in open(work + "/run.env") if "=" in l)
dump = json.load(open(out + "/dump.json"))
by = {e["key"]: e for e in dump}
P = "sandesh:"
def h(k): return by[k]["value"] if k in by else {}
import base64
def raw(v): return base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode()
def chunked(m, name):
    v, i = raw(m.get(name, "")), 1
    while name + "." + str(i) in m:
        v += raw(m[name + "." + str(i)]); i += 1
    return v.decode("utf-8", "replace")
names = {v: k[4:] for k, v in env.items() if k.startswith("BEN_")}     # id -> fixture name
codes = {env["APPT_" + k[5:]]: v for k, v in env.items() if k.startswith("CODE_") and "APPT_" + k[5:] in env}
appt_names = {v: k[5:] for k, v in env.items() if k.startswith("APPT_")}

# API keys: the ones made here, and the demo's (matched by their record's name)
keys = []
records = {}
for k, e in by.items():
    if k.startswith(P + "apikey:") and e["type"] == "hash":
        records[e["value"]["id"]] = e["value"]
for k, v in env.items():
    if k.startswith("KEY_"):
        kid = env["KEYID_" + k[4:]]; r = records[kid]
        keys.append({"fixture_name": k[4:], "id": kid, "role": r.get("role"), "name": r.get("name"),
                     "center_id": r.get("center_id", ""), "secret": v,
                     "revoked": bool(r.get("revoked")), "revoked_at_ms": r.get("revoked", "")})
for k, v in env.items():
    if k.startswith("DEMO_KEY_"):
        role = k[9:].split("_")[0]
        r = [x for x in records.values() if x.get("name") == "demo " + role]
        keys.append({"fixture_name": "demo_" + k[9:], "id": r[0]["id"] if len(r) == 1 else None, "role": role,
                     "name": "demo " + role, "center_id": "C1" if role == "center" else "", "secret": v, "revoked": False})

def msg_view(mid):
    m = h(P + "msg:" + mid)
    return {"id": mid, "status": m.get("status"), "direction": m.get("dir", "out"), "template": m.get("template", ""),
            "to": m.get("to"), "from": m.get("from", ""), "priority": m.get("priority", ""), "lang": m.get("lang", ""),
            "provider": m.get("provider", ""), "body_masked": chunked(m, "body"), "has_sealed_body": "body_sealed" in m}

mobiles = collections.OrderedDict()
for k in sorted(by):
    if k.startswith(P + "mobile:") and k.endswith(":bens"):
        mob = k[len(P + "mobile:"):-len(":bens")]
        bens = []
        for z in by[k]["value"]:
            bid = z["member"]; b = h(P + "ben:" + bid)
            g = json.load(open(f"{work}/get/ben_{bid}.json"))
            n = int(b.get("doses", "0"))
            doses = []
            for i in range(1, n + 1):
                f = chunked(b, f"dose.{i}").split("|")
                doses.append({"n": i, "vaccine": f[0], "batch": f[1], "date": f[2], "certificate_id": f[3],
                              "appointment_id": f[4], "center_id": f[6] if len(f) > 6 else ""})
            bens.append({"id": bid, "fixture_name": names.get(bid), "name": b.get("name"), "language": b.get("lang"),
                         "birth_year": int(b["birth_year"]), "gender": b.get("gender"),
                         "status": g.get("status"), "dose_count": n, "doses": doses,
                         "certificate_ids": [d["certificate_id"] for d in doses],
                         "due": b.get("due", ""), "reminded_on": b.get("reminded_on", ""),
                         "active_appointment": b.get("active_appt", ""), "api_view": g})
        hist = [msg_view(m) for m in h(P + "mobile:" + mob + ":msgs")] if P + "mobile:" + mob + ":msgs" in by else []
        mobiles[mob] = {"beneficiaries": bens, "choices": h(P + "mobile:" + mob),
                        "messages_newest_first": hist}

appts = []
for k in sorted(by):
    if k.startswith(P + "appt:"):
        a = by[k]["value"]
        g = json.load(open(f"{work}/get/appt_{a['id']}.json"))
        appts.append({"id": a["id"], "fixture_name": appt_names.get(a["id"]), "beneficiary_id": a["ben"],
                      "beneficiary": names.get(a["ben"]), "center_id": a["center"], "date": a["date"], "slot": a["slot"],
                      "dose": int(a["dose"]), "status": a["status"], "wrong_code_attempts": int(a.get("attempts", 0)),
                      "security_code": codes.get(a["id"]), "api_view": g})

msgs = [msg_view(k[len(P + "msg:"):]) for k in sorted(by) if k.startswith(P + "msg:")]
count = collections.Counter((m["direction"], m["status"]) for m in msgs)
def members(k): return [z["member"] for z in by[k]["value"]] if k in by else []
facts = {
  "made_by": "sandesh commit b375d15 (key layout 1), driven by make.sh",
  "config": {"secret": "fixture-secret-0123456789abcdef-0123456789", "previous_secrets": [],
             "admin_key": "fixture-admin-key-0123456789abcdef", "timezone": "Asia/Kolkata",
             "languages": ["en", "hi", "mr"], "default_region": "IN", "retention": "90d (default)",
             "providers": [{"name": "console", "kind": "console"}],
             "redis_db": 0, "key_prefix": "sandesh:",
             "key_prefix_note": "store.Options.Prefix, default 'sandesh:'; the old release has no config key for it (cmd/sandesh/app.go leaves it empty). asynq's own keys start 'asynq:'."},
  "today": env["TODAY"], "dates": {"plus3": env["PLUS3"], "plus7": env["PLUS7"]},
  "api_keys": keys,
  "centers": [h(k) for k in sorted(by) if k.startswith(P + "center:")],
  "mobiles": mobiles,
  "appointments": appts,
  "messages": {"counts_by_direction_status": {f"{d}/{s}": n for (d, s), n in sorted(count.items())},
               "all": msgs,
               "pending_set": members(P + "msgs:pending"),
               "inflight_set": members(P + "msgs:inflight"),
               "inflight_worker": {"id": members(P + "workers"), "heartbeat_key_ttl_ms": [by[k]["ttl_ms"] for k in by if k.startswith(P + "worker:")]},
               "owed": members(P + "notify:owed")},
  "dues": {k[len(P + "dues:"):]: by[k]["value"] for k in sorted(by) if k.startswith(P + "dues:")},
  "reminder_runs": {k[len(P + "reminders:"):]: by[k]["value"] for k in sorted(by) if k.startswith(P + "reminders:")},
  "idempotency_keys": [k for k in sorted(by) if k.startswith(P + "idem:")],
  "kyvs": {"meera_txn_confirmed": env.get("TXN_meera"), "joseph_txn_open": env.get("TXN_joseph"),
           "records": {k[len(P + "kyvs:"):]: by[k]["value"] for k in sorted(by) if k.startswith(P + "kyvs:")}},
  "cards": {k: by[k]["value"] for k in sorted(by) if k.startswith(P + "card:")},
  "sessions": {k: by[k]["value"] for k in sorted(by) if k.startswith(P + "session:")},
  "key_count": len(dump),
}
json.dump(facts, open(out + "/facts.json", "w"), ensure_ascii=False, indent=1)
print("facts:", len(mobiles), "mobiles,", len(appts), "appointments,", len(msgs), "messages")
PY

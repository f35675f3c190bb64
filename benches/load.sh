#!/usr/bin/env bash
# Requests/s, p50 and p99 of Keel next to a bare axum + sqlx floor
# (benches/floor, binary `keel-floor`) with the same endpoints, over loopback.
#
# Builds both release binaries, then for each backend (SQLite in a temp
# folder; PostgreSQL in fresh databases on $PG_URL, dropped afterwards):
# migrates, collects static files and starts two `keel serve` instances in
# prod with the memory cache on one database, one with the access log at
# warn and one at info (a line per request, as in production); makes a form
# with five fields through the API (signup, create, public fetch for the
# slug and a submission token) and starts the floor seeded with the same
# slug and fields. Then, per endpoint (GET /healthz, GET the public form,
# POST a submission), it warms each server up and runs
# `wrk -t1 -c$CONNECTIONS --latency` on floor, Keel at warn and Keel at
# info in turn, $RUNS times (on PostgreSQL after a CHECKPOINT each), and
# keeps each server's median run. Servers are pinned to core 1, wrk to
# core 0. Prints one table with the Keel/floor ratio and the targets:
# public form >= 0.8x, submission >= 0.7x with p99 < 25 ms.
#
#   bash benches/load.sh                         # DURATION=10 WARMUP=3 RUNS=3
#   BACKENDS=sqlite RUNS=1 bash benches/load.sh  # one run each
#   ENDPOINTS=submit bash benches/load.sh        # only some endpoints
#
# Needs wrk (`apt-get install -y wrk`), curl, python3 and, for PostgreSQL,
# psql and a server on $PG_URL that lets its user create databases;
# installs nothing itself. Exits non-zero when a step fails or a measured
# run saw non-2xx answers. Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-3}
CONNECTIONS=${CONNECTIONS:-64}
BACKENDS=${BACKENDS:-sqlite postgres}
ENDPOINTS=${ENDPOINTS:-healthz form submit}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
KEEL_PORT=${KEEL_PORT:-18490}
FLOOR_PORT=${FLOOR_PORT:-18491}
export PGCONNECT_TIMEOUT=5

need() {
  command -v "$1" >/dev/null || { echo "load.sh: $1 is not installed ($2)" >&2; exit 1; }
}
need wrk "apt-get install -y wrk"
need curl "apt-get install -y curl"
need python3 "apt-get install -y python3"
case " $BACKENDS " in *" postgres "*) need psql "apt-get install -y postgresql-client" ;; esac
pin_server=() pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c 1) pin_client=(taskset -c 0)
fi

echo "load.sh: building release binaries" >&2
timeout 3600 cargo build --release --quiet -p keel-cli -p keel-bench-floor
TARGET=$(realpath "${CARGO_TARGET_DIR:-target}")
KEEL="$TARGET/release/keel"
FLOOR="$TARGET/release/keel-floor"

WORK=$(mktemp -d)
PG_DBS=()
PIDS=()
stop_servers() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
psql_admin() {
  timeout 30 psql "$PG_URL/postgres" -X -q -v ON_ERROR_STOP=1 -c "$1" >/dev/null
}
cleanup() {
  stop_servers
  local db
  for db in "${PG_DBS[@]}"; do psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export KEEL_ENV=prod
export KEEL_SECRET_KEY="bench-only-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"
export KEEL_PUBLIC_URL="http://127.0.0.1:$KEEL_PORT"
export KEEL_ALLOWED_HOSTS="127.0.0.1"
export KEEL_SECURE_SSL_REDIRECT=false
export KEEL_SESSION_COOKIE_SECURE=false
export KEEL_CSRF_COOKIE_SECURE=false
export KEEL_SUBMISSION_RATE="100000000/1m"
export KEEL_SIGNUP_OPEN=true
export KEEL_CACHE_URL="memory://"
export KEEL_METRICS_BIND=""

wait_for() {
  local url=$1 deadline=$((SECONDS + 20))
  until curl -fs --max-time 1 -o /dev/null "$url"; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "load.sh: $url did not answer within 20 s" >&2; exit 1; }
    sleep 0.1
  done
}

# start_keel BACKEND LEVEL PORT: keel serve on PORT with $KEEL_DB.
start_keel() {
  (cd "$WORK/keel" && DATABASE_URL=$KEEL_DB KEEL_LOG_LEVEL=$2 \
    exec "${pin_server[@]}" "$KEEL" serve --bind "127.0.0.1:$3" >>"$WORK/keel-$1-$2.log" 2>&1) &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$3/healthz"
}

start_floor() {
  DATABASE_URL=$FLOOR_DB FLOOR_SLUG=$SLUG FLOOR_FIELDS=$(cat "$WORK/fields.json") \
    "${pin_server[@]}" "$FLOOR" "127.0.0.1:$FLOOR_PORT" >>"$WORK/floor-$1.log" 2>&1 &
  PIDS+=($!)
  wait_for "http://127.0.0.1:$FLOOR_PORT/healthz"
}

# Signs up, creates the form, writes slug, fields.json and submit.lua.
setup_form() {
  timeout 60 python3 - "http://127.0.0.1:$KEEL_PORT" "$WORK" <<'EOF'
import json, sys, urllib.request
sys.path.insert(0, "benches")
from benchlib import Client
base, work = sys.argv[1], sys.argv[2]
client = Client(base)
client.signup("load@example.com")
fields = [
    {"key": "name", "label": "Your name", "type": "short_text", "required": True, "max_length": 200},
    {"key": "email", "label": "Email address", "type": "email", "required": True, "help": "We reply here."},
    {"key": "age", "label": "Age", "type": "integer", "min": 0, "max": 150},
    {"key": "plan", "label": "Plan", "type": "choice", "required": True, "options": ["free", "team", "enterprise"]},
    {"key": "comments", "label": "Comments", "type": "long_text", "help": "Anything else?"},
]
# No notify_owner, no webhook: the submission is an insert, as on the floor.
form = client.call("POST", "/api/forms", {"title": "Load test", "description": "A form for the load benchmark.", "fields": fields})
public = json.load(urllib.request.urlopen(f"{base}/api/public/forms/{form['slug']}", timeout=10))
answers = {"name": "Ada Lovelace", "email": "ada@example.com", "age": 36, "plan": "team",
           "comments": "Looking forward to it."}
body = json.dumps({"submission_token": public["submission_token"], "answers": answers})
open(f"{work}/slug", "w").write(form["slug"])
open(f"{work}/fields.json", "w").write(json.dumps(public["fields"]))
open(f"{work}/submit.lua", "w").write(
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    f"wrk.body = [==[{body}]==]\n")
EOF
  SLUG=$(cat "$WORK/slug")
}

# measure_once LABEL RUN URL [LUA]: one wrk run (RUN "warmup": not kept).
measure_once() {
  local label=$1 run=$2 url=$3 script=()
  [ $# -ge 4 ] && script=(-s "$4")
  if [ "$run" = warmup ]; then
    timeout $((WARMUP + 30)) "${pin_client[@]}" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "${script[@]}" "$url" >/dev/null
    return
  fi
  # A checkpoint now rather than in the middle of a run: every run starts
  # from the same state of PostgreSQL's write-ahead log.
  if [ -n "$CHECKPOINT" ]; then psql_admin "CHECKPOINT"; fi
  timeout $((DURATION + 30)) "${pin_client[@]}" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s --latency \
    "${script[@]}" "$url" >"$WORK/wrk.$label.$run"
  python3 - "$WORK/wrk.$label.$run" "$label #$run" >&2 <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
lat = {p: float(v) * UNIT[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)}
print(f"    {sys.argv[2]:<30} {rps:9.0f} req/s  p50 {lat['50']:6.2f} ms  p99 {lat['99']:6.2f} ms")
EOF
}

# aggregate LABEL: LABEL's median run (by requests/s) as a row of results.tsv.
aggregate() {
  python3 - "$1" "$WORK" "$RUNS" >>"$WORK/results.tsv" <<'EOF'
import re, sys
label, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}
def parse(text):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {p: float(v) * UNIT[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return rps, lat["50"], lat["99"], int(non2xx.group(1)) if non2xx else 0, errors.group(1) if errors else "-"
results = sorted((parse(open(f"{work}/wrk.{label}.{i}").read()) for i in range(1, runs + 1)), key=lambda r: r[0])
rps, p50, p99, non2xx, errors = results[len(results) // 2]
print("\t".join(label.split(".") + [f"{rps:.0f}", f"{p50:.2f}", f"{p99:.2f}", str(non2xx), errors]))
EOF
}

SERVERS="floor keel-warn keel-info"

# target SERVER ENDPOINT: the URL of an endpoint on a server, and its Lua
# script when it has one.
target() {
  local port
  case $1 in
    floor) port=$FLOOR_PORT ;;
    keel-warn) port=$KEEL_PORT ;;
    keel-info) port=$((KEEL_PORT + 2)) ;;
  esac
  case $2 in
    healthz) echo "http://127.0.0.1:$port/healthz" ;;
    form) echo "http://127.0.0.1:$port/api/public/forms/$SLUG" ;;
    submit) echo "http://127.0.0.1:$port/api/public/forms/$SLUG/responses $WORK/submit.lua" ;;
    *) echo "load.sh: unknown endpoint $2 (healthz, form, submit)" >&2; return 1 ;;
  esac
}

# run_endpoints BACKEND: each endpoint on the three servers, taking turns
# run by run, so slow drift (a growing table, autovacuum, another process
# on the machine) falls on all of them alike.
run_endpoints() {
  local endpoint server run args
  for endpoint in $ENDPOINTS; do
    for server in $SERVERS; do
      args=$(target "$server" "$endpoint") || exit 1
      # shellcheck disable=SC2086 # the URL and the script are two words
      measure_once "$1.$server.$endpoint" warmup $args
    done
    for run in $(seq "$RUNS"); do
      for server in $SERVERS; do
        args=$(target "$server" "$endpoint")
        # shellcheck disable=SC2086
        measure_once "$1.$server.$endpoint" "$run" $args
      done
    done
    for server in $SERVERS; do
      aggregate "$1.$server.$endpoint"
    done
  done
}

bench_backend() {
  local backend=$1
  echo "load.sh: $backend" >&2
  rm -rf "$WORK/keel" && mkdir -p "$WORK/keel"
  if [ "$backend" = sqlite ]; then
    KEEL_DB="sqlite://$WORK/keel/keel.sqlite3"
    FLOOR_DB="sqlite://$WORK/floor.sqlite3"
    rm -f "$WORK"/floor.sqlite3*
    CHECKPOINT=
  else
    local name="keel_bench_$$"
    PG_DBS+=("${name}_keel" "${name}_floor")
    psql_admin "CREATE DATABASE ${name}_keel"
    psql_admin "CREATE DATABASE ${name}_floor"
    KEEL_DB="$PG_URL/${name}_keel"
    FLOOR_DB="$PG_URL/${name}_floor"
    CHECKPOINT=1
  fi
  # prod refuses to serve without migrations and collected static files
  (cd "$WORK/keel" && DATABASE_URL=$KEEL_DB timeout 60 "$KEEL" migrate >>"$WORK/setup.log" 2>&1 &&
    DATABASE_URL=$KEEL_DB timeout 60 "$KEEL" collectstatic --no-input >>"$WORK/setup.log" 2>&1) ||
    { cat "$WORK/setup.log" >&2; exit 1; }
  # Two Keel instances on one database, one logging at warn and one at
  # info (a line per request, as in production), and the floor: all
  # started up front, each idle while another is measured.
  start_keel "$backend" warn "$KEEL_PORT"
  start_keel "$backend" info $((KEEL_PORT + 2))
  setup_form
  start_floor "$backend"
  run_endpoints "$backend"
  stop_servers
}

: >"$WORK/results.tsv"
for backend in $BACKENDS; do
  bench_backend "$backend"
done

python3 - "$WORK/results.tsv" "$CONNECTIONS" "$DURATION" "$RUNS" <<'EOF'
import sys
path, connections, duration, runs = sys.argv[1:]
rows = {}
for line in open(path):
    backend, server, endpoint, rps, p50, p99, non2xx, errors = line.rstrip("\n").split("\t")
    rows[(backend, server, endpoint)] = (float(rps), float(p50), float(p99), int(non2xx), errors)
names = {"healthz": "GET /healthz", "form": "GET public form", "submit": "POST submission"}
print(f"\nwrk -t1 -c{connections} -d{duration}s, median of {runs}; servers on core 1, wrk on core 0; latencies in ms")
head = ("endpoint", "backend", "keel log", "keel req/s", "p50", "p99", "floor req/s", "p50", "p99", "ratio", "target")
widths = (16, 9, 9, 11, 7, 7, 12, 7, 7, 6, 18)
print("  ".join(h.ljust(w) if i < 3 or i == 10 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
bad = 0
for endpoint in ("healthz", "form", "submit"):
    for backend in ("sqlite", "postgres"):
        floor = rows.get((backend, "floor", endpoint))
        for level in ("warn", "info"):
            keel = rows.get((backend, f"keel-{level}", endpoint))
            if not keel or not floor:
                continue
            ratio = keel[0] / floor[0]
            if endpoint == "form":
                target = ("ok" if ratio >= 0.8 else "MISS") + " >=0.8x"
            elif endpoint == "submit":
                ok = ratio >= 0.7 and keel[2] < 25
                target = ("ok" if ok else "MISS") + " >=0.7x,p99<25"
            else:
                target = "-"
            cells = (names[endpoint], backend, level, f"{keel[0]:.0f}", f"{keel[1]:.2f}", f"{keel[2]:.2f}",
                     f"{floor[0]:.0f}", f"{floor[1]:.2f}", f"{floor[2]:.2f}", f"{ratio:.2f}", target)
            print("  ".join(c.ljust(w) if i < 3 or i == 10 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))))
for (backend, server, endpoint), (_, _, _, non2xx, errors) in sorted(rows.items()):
    if non2xx or errors != "-":
        print(f"warning: {backend} {server} {endpoint}: {non2xx} non-2xx answers, socket errors: {errors}")
        bad += non2xx > 0
sys.exit(1 if bad else 0)
EOF

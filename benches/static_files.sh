#!/usr/bin/env bash
# Static-file requests/s of Keel next to nginx serving the same file.
#
# Builds the release binary, writes a 100 KB file into an extra static
# folder and runs `keel collectstatic`. Then starts, each on its own loopback
# port and pinned to core 1: nginx (sendfile, from the collected folder),
# Keel in prod with its access log at info (one line per request, as in
# production) and a second Keel at warn. `wrk -t1 -c64`, pinned to core 0,
# fetches the same hashed URL from each in turn; the best run of each
# counts. Prints requests/s, the server's CPU time per request, and the
# Keel/nginx ratios of both (on a busy machine the CPU time is steadier).
#
#   bash benches/static_files.sh            # RUNS=3 DURATION=10s by default
#   RUNS=5 DURATION=20s bash benches/static_files.sh
#
# Needs nginx and wrk (`apt-get install -y nginx wrk`), curl and python3;
# installs nothing itself. Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
SIZE_KB=${SIZE_KB:-100}
NGINX_PORT=${NGINX_PORT:-38481}
KEEL_PORT=${KEEL_PORT:-38480}
KEEL_WARN_PORT=${KEEL_WARN_PORT:-38482}

for tool in nginx wrk curl python3; do
  command -v "$tool" >/dev/null || {
    echo "static_files.sh: $tool is not installed (apt-get install -y nginx wrk)" >&2
    exit 1
  }
done
pin_server=() pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c 1) pin_client=(taskset -c 0)
fi

cargo build --release --quiet -p keel-cli
KEEL=$(realpath "${CARGO_TARGET_DIR:-target}/release/keel")

WORK=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/extra/bench" "$WORK/nginx"
head -c $((SIZE_KB * 1024)) /dev/urandom >"$WORK/extra/bench/file.bin"

export KEEL_ENV=prod
export KEEL_SECRET_KEY="bench-only-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
export KEEL_PUBLIC_URL="http://127.0.0.1"
export KEEL_ALLOWED_HOSTS="127.0.0.1"
export KEEL_SECURE_SSL_REDIRECT=false
export DATABASE_URL="sqlite://$WORK/keel.sqlite3"
export KEEL_STATIC_ROOT="$WORK/static"
export KEEL_STATICFILES_DIRS="$WORK/extra"
export KEEL_METRICS_BIND=""
(cd "$WORK" && "$KEEL" migrate >/dev/null 2>&1 && "$KEEL" collectstatic --no-input)
HASHED=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"]["bench/file.bin"]["hashed"])' \
  "$WORK/static/manifest.json")
chmod -R a+rX "$WORK"

cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log $WORK/nginx/access.log;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /static/ {
      alias $WORK/static/;
      add_header Cache-Control "public, max-age=31536000, immutable";
    }
  }
}
CONF

"${pin_server[@]}" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
pids+=($!)
start_keel() {
  local level=$1 port=$2
  (cd "$WORK" && KEEL_LOG_LEVEL=$level exec "${pin_server[@]}" "$KEEL" serve --bind "127.0.0.1:$port" \
    2>"$WORK/keel-$level.log") &
  pids+=($!)
}
start_keel info "$KEEL_PORT"
start_keel warn "$KEEL_WARN_PORT"

names=(nginx keel_info keel_warn)
declare -A url=(
  [nginx]="http://127.0.0.1:$NGINX_PORT/static/$HASHED"
  [keel_info]="http://127.0.0.1:$KEEL_PORT/static/$HASHED"
  [keel_warn]="http://127.0.0.1:$KEEL_WARN_PORT/static/$HASHED"
)
declare -A pid=([nginx]=${pids[0]} [keel_info]=${pids[1]} [keel_warn]=${pids[2]})
declare -A best=([nginx]=0 [keel_info]=0 [keel_warn]=0)
declare -A ticks=([nginx]=0 [keel_info]=0 [keel_warn]=0)
declare -A served=([nginx]=0 [keel_info]=0 [keel_warn]=0)

wait_for() {
  local deadline=$((SECONDS + 20))
  until curl -fs -o /dev/null "$1"; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "static_files.sh: $1 did not answer" >&2; exit 1; }
    sleep 0.1
  done
}

# CPU time (user + system, clock ticks) of a process and its children:
# nginx's master and worker, or Keel with all its threads.
cpu_ticks() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}

# Prints "requests/s requests" of one wrk run.
wrk_run() {
  "${pin_client[@]}" wrk -t1 -c"$CONNECTIONS" -d"$1" "$2" |
    awk '/requests in/ {n = $1} /Requests\/sec/ {r = $2} END {print r, n}'
}

for name in "${names[@]}"; do
  wait_for "${url[$name]}"
  wrk_run 2s "${url[$name]}" >/dev/null # warm-up
done

# The servers take turns, so a burst of load elsewhere on the machine
# hits each of them alike. Besides requests/s, the server's own CPU time per
# request is counted: on a busy machine it is the steadier figure.
echo "static_files: ${SIZE_KB} KB file, wrk -t1 -c$CONNECTIONS -d$DURATION, best of $RUNS"
for run in $(seq "$RUNS"); do
  for name in "${names[@]}"; do
    before=$(cpu_ticks "${pid[$name]}")
    read -r r n < <(wrk_run "$DURATION" "${url[$name]}")
    after=$(cpu_ticks "${pid[$name]}")
    echo "  run $run $name: $r requests/s"
    best[$name]=$(python3 -c "print(max(${best[$name]}, $r))")
    ticks[$name]=$((ticks[$name] + after - before))
    served[$name]=$((served[$name] + n))
  done
done

python3 - "$(getconf CLK_TCK)" \
  "${best[nginx]}" "${ticks[nginx]}" "${served[nginx]}" \
  "${best[keel_info]}" "${ticks[keel_info]}" "${served[keel_info]}" \
  "${best[keel_warn]}" "${ticks[keel_warn]}" "${served[keel_warn]}" <<'PY'
import sys
hz = float(sys.argv[1])
rows = []
for i, name in enumerate(["nginx", "keel (log level info)", "keel (log level warn)"]):
    rps, ticks, served = (float(v) for v in sys.argv[2 + 3 * i : 5 + 3 * i])
    rows.append((name, rps, ticks / hz / served * 1e6))
nginx_rps, nginx_us = rows[0][1], rows[0][2]
print(f"{'server':<24}{'requests/s':>12}{'x nginx':>9}{'CPU us/request':>16}{'x nginx':>9}")
for name, rps, us in rows:
    print(f"{name:<24}{rps:>12.0f}{rps / nginx_rps:>9.2f}{us:>16.1f}{nginx_us / us:>9.2f}")
PY

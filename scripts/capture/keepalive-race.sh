#!/usr/bin/env bash
# Capture a real upstream keepalive race: nginx reuses a cached keepalive connection to a backend whose
# idle timeout fires in the same instant, and the request fails at once with a reset or a premature close.
#
# usage: sudo bash scripts/capture/keepalive-race.sh [OUT_DIR]
#   OUT_DIR defaults to src/evidence/__fixtures__/keepalive-race. Writes error.log, access.log, nginx-T.txt
#   and nginx-T.stderr.txt (stdout and stderr of `nginx -T` for the capture config), plus
#   backend-events.log and client.log to check the run.
#
# Needs root, nginx (Debian 1.22 package) and python3. Everything runs inside a private network namespace
# (unshare -n) with only loopback up, on 127.0.0.1:18600 (nginx) and 127.0.0.1:18601 (backend).
# nginx runs with TZ=Europe/Berlin so the zone-less error-log times differ from UTC.
#
# The backend (backends/keepalive-idle.py) closes a connection 200 ms after its last answer; the client
# (backends/keepalive-client.py) paces requests around 200 ms so that now and then nginx reuses the cached
# connection in the instant the backend closes it. `proxy_next_upstream off` keeps nginx from retrying the
# failed request on a fresh connection, so the failures reach the client as 502 and the access log.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/src/evidence/__fixtures__/keepalive-race}
BACKENDS=$ROOT/scripts/capture/backends
IDLE_MS=200

if [[ ${WHY502_NETNS:-} != 1 ]]; then
  exec unshare -n env WHY502_NETNS=1 bash "$0" "$OUT"
fi
ip link set lo up

T=$(mktemp -d /tmp/why502-ka.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/conf" "$T/logs" "$T/run" "$T/tmp"
export TZ=Europe/Berlin

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

python3 "$BACKENDS/keepalive-idle.py" 127.0.0.1 18601 "$IDLE_MS" "$T/logs/backend-events.log" \
  >>"$T/logs/backend.out" 2>&1 &
BACKEND=$!
PIDS+=("$BACKEND")

MAIN_EXT='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" ua="$upstream_addr" us="$upstream_status"'
cat >"$T/conf/nginx.conf" <<EOF
user nobody nogroup;
worker_processes 1;
pid $T/run/nginx.pid;
error_log $T/logs/error.log error;
events { worker_connections 256; }

http {
  log_format main_ext '$MAIN_EXT';
  access_log $T/logs/access.log main_ext;
  client_body_temp_path $T/tmp/body;
  proxy_temp_path $T/tmp/proxy;
  fastcgi_temp_path $T/tmp/fastcgi;
  uwsgi_temp_path $T/tmp/uwsgi;
  scgi_temp_path $T/tmp/scgi;

  upstream ka {
    server 127.0.0.1:18601;
    keepalive 8;
  }

  server {
    listen 127.0.0.1:18600;
    server_name gw.test;

    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream off;
      proxy_pass http://ka;
    }
  }
}
EOF

nginx -t -p "$T" -c "$T/conf/nginx.conf" 2>"$T/logs/nginx-t.out" || { cat "$T/logs/nginx-t.out"; exit 1; }
nginx -T -p "$T" -c "$T/conf/nginx.conf" >"$T/logs/nginx-T.txt" 2>"$T/logs/nginx-T.stderr.txt"
nginx -p "$T" -c "$T/conf/nginx.conf" -g "daemon off;" 2>>"$T/logs/nginx.stderr" &
NGINX=$!
PIDS+=("$NGINX")
for _ in $(seq 50); do [[ -s $T/run/nginx.pid ]] && break; sleep 0.1; done
for _ in $(seq 50); do grep -q listening "$T/logs/backend-events.log" 2>/dev/null && break; sleep 0.1; done

# At most 400 requests, 8 failures or 120 s.
python3 "$BACKENDS/keepalive-client.py" 127.0.0.1 18600 "$IDLE_MS" 400 8 120 "$T/logs/client.log"

sleep 0.3
kill -0 "$BACKEND" || { echo "backend died during the run" >&2; exit 1; }
kill -QUIT "$NGINX"
wait "$NGINX" || true

# Keep the fixtures only from a run that shows the race: at least 3 failed requests, one backend process.
failed=$(grep -c '" 502 ' "$T/logs/access.log" || true)
pids=$(awk '{print $2}' "$T/logs/backend-events.log" | sort -u | wc -l)
if ((failed < 3 || pids != 1)); then
  echo "run not kept: $failed failed requests, $pids backend pids" >&2
  exit 1
fi

mkdir -p "$OUT"
cp "$T/logs/error.log" "$OUT/error.log"
cp "$T/logs/access.log" "$OUT/access.log"
cp "$T/logs/nginx-T.txt" "$OUT/nginx-T.txt"
cp "$T/logs/nginx-T.stderr.txt" "$OUT/nginx-T.stderr.txt"
cp "$T/logs/backend-events.log" "$OUT/backend-events.log"
cp "$T/logs/client.log" "$OUT/client.log"
tail -n 1 "$OUT/client.log"
echo "captured into $OUT"

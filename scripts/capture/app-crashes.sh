#!/usr/bin/env bash
# Captures real application crash output for the `app` parser fixtures: stdout and stderr together (2>&1), as
# a supervisor or container log would hold them. Programs are in scripts/capture/crashers/.
# Needs: node 20, OpenJDK 17 (java, javac), Python 3.11, and from Debian: golang-go (1.19),
# golang-github-sirupsen-logrus-dev, gunicorn (20.1), uwsgi-core + uwsgi-plugin-python3 (2.0.21),
# php8.2-fpm, nginx (FastCGI client for php-fpm), curl.
# Listens only on 127.0.0.1:18500-18531. Every server started here is stopped by pid, also on failure.
# Run from the repo root: scripts/capture/app-crashes.sh [outdir]
set -euo pipefail

OUT=${1:-src/evidence/__fixtures__/app}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
CRASHERS=$HERE/crashers
T=$(mktemp -d)
PIDS=()
NGINX_PID_FILE=
NS=why502app
NS_CONF=/etc/systemd/journald@$NS.conf
MID=$(cat /etc/machine-id)

cleanup() {
  if [ -n "$NGINX_PID_FILE" ] && [ -s "$NGINX_PID_FILE" ]; then kill "$(cat "$NGINX_PID_FILE")" 2>/dev/null || true; fi
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf -- "$T" "/run/log/journal/$MID.$NS" "/var/log/journal/$MID.$NS" "/run/systemd/journal.$NS" "$NS_CONF"
  rmdir /run/log/journal /run/log 2>/dev/null || true
}
trap cleanup EXIT

# Waits (bounded) until file $1 has at least $3 (default 1) lines matching the regex $2.
wait_for() {
  for _ in $(seq 1 300); do
    local n
    n=$(grep -cE -- "$2" "$1" 2>/dev/null) || true
    if [ "${n:-0}" -ge "${3:-1}" ]; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1" >&2
  return 1
}

# Stops a server started in the background (pid $1) and awaits its exit.
stop() {
  kill "$1"
  wait "$1" || true
  local keep=()
  for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}

INFO=$T/info.txt
: >"$INFO"

# run NAME CMD...: runs one crasher in the foreground, stdout+stderr into NAME.txt, notes the exit code.
run() {
  local name=$1
  shift
  set +e
  "$@" >"$OUT/$name.txt" 2>&1
  local rc=$?
  set -e
  echo "$name: exit $rc" >>"$INFO"
}

ulimit -c 0

# Node 20
run node-uncaught node "$CRASHERS/node-uncaught.js"
run node-uncaught-cjs node "$CRASHERS/node-uncaught.cjs"
run node-heap-oom node --max-old-space-size=20 "$CRASHERS/node-heap-oom.js"

# OpenJDK 17 (local times in Europe/Berlin)
javac -d "$T/java" "$CRASHERS/JavaUncaught.java" "$CRASHERS/JavaOom.java"
run java-uncaught env TZ=Europe/Berlin java -cp "$T/java" JavaUncaught
run java-oom java -Xmx16m -cp "$T/java" JavaOom
run java-oom-worker java -Xmx16m -cp "$T/java" JavaOom worker
run java-oom-exit java -Xmx16m -XX:+ExitOnOutOfMemoryError -cp "$T/java" JavaOom
# With core dumps off, HotSpot's abort path calls exit(1) instead of raising SIGABRT.
(cd "$T" && run java-oom-crash java -Xmx16m -XX:+CrashOnOutOfMemoryError -XX:-CreateCoredumpOnCrash \
  -XX:ErrorFile="$T/hs_err_pid%p.log" -cp "$T/java" JavaOom)

# Python 3.11 (logging's asctime is local: Asia/Kolkata)
run python-traceback env TZ=Asia/Kolkata python3 "$CRASHERS/python_traceback.py"
run python-chained env TZ=Asia/Kolkata python3 "$CRASHERS/python_traceback.py" chained

# Go 1.19, built like a deployed binary (no `go run`, so no `exit status 2` line)
for prog in panic nilptr fatal logfatal logrus; do
  GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$T/gocache" go build -o "$T/go-$prog" "$CRASHERS/go/$prog.go"
done
run go-panic "$T/go-panic"
run go-nilptr "$T/go-nilptr"
run go-fatal "$T/go-fatal"
run go-log-fatal env TZ=America/New_York "$T/go-logfatal"
run go-logrus-fatal "$T/go-logrus"
run go-logrus-json "$T/go-logrus" json

# gunicorn 20.1: worker timeout (2 s) on /slow, then a worker SIGKILLed on /kill9
gunicorn --chdir "$CRASHERS" -b 127.0.0.1:18510 -w 1 -t 2 wsgi_app:app >"$OUT/gunicorn.txt" 2>&1 &
PIDS+=($!)
gunicorn_pid=$!
wait_for "$OUT/gunicorn.txt" "Booting worker"
curl -s -m 10 -o /dev/null http://127.0.0.1:18510/slow || true
wait_for "$OUT/gunicorn.txt" "Booting worker" 2
curl -s -m 10 -o /dev/null http://127.0.0.1:18510/kill9 || true
wait_for "$OUT/gunicorn.txt" "Booting worker" 3
stop "$gunicorn_pid"
echo "gunicorn: master stopped with SIGTERM" >>"$INFO"

# uWSGI 2.0.21: harakiri (2 s) on /slow, then a worker SIGKILLed on /kill9
uwsgi --plugin python3 --http-socket 127.0.0.1:18520 --chdir "$CRASHERS" --wsgi-file wsgi_app.py --master \
  --processes 1 --harakiri 2 --die-on-term >"$OUT/uwsgi.txt" 2>&1 &
PIDS+=($!)
uwsgi_pid=$!
wait_for "$OUT/uwsgi.txt" "spawned uWSGI worker"
curl -s -m 10 -o /dev/null http://127.0.0.1:18520/slow || true
wait_for "$OUT/uwsgi.txt" "Respawned uWSGI worker"
curl -s -m 10 -o /dev/null http://127.0.0.1:18520/kill9 || true
wait_for "$OUT/uwsgi.txt" "Respawned uWSGI worker" 2
stop "$uwsgi_pid"
echo "uwsgi: master stopped with SIGTERM" >>"$INFO"

# php-fpm 8.2 (local times in Europe/Berlin) behind nginx as the FastCGI client: a child SIGSEGVs itself,
# then four concurrent slow requests exhaust pm.max_children = 2.
mkdir -p "$T/www" "$T/ngx/logs"
chmod 755 "$T" "$T/www"
cp "$CRASHERS"/php/*.php "$T/www/"
chmod 644 "$T"/www/*.php
cat >"$T/fpm.conf" <<EOF
[global]
error_log = $T/fpm.log
daemonize = no
[www]
user = www-data
group = www-data
listen = 127.0.0.1:18531
pm = dynamic
pm.max_children = 2
pm.start_servers = 1
pm.min_spare_servers = 1
pm.max_spare_servers = 2
EOF
cat >"$T/ngx/nginx.conf" <<EOF
worker_processes 1;
error_log $T/ngx/logs/error.log;
pid $T/ngx/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  server {
    listen 127.0.0.1:18530;
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $T/www\$fastcgi_script_name;
      fastcgi_pass 127.0.0.1:18531;
    }
  }
}
EOF
TZ=Europe/Berlin php-fpm8.2 -R -F -y "$T/fpm.conf" >/dev/null 2>&1 &
PIDS+=($!)
fpm_pid=$!
wait_for "$T/fpm.log" "ready to handle connections"
NGINX_PID_FILE=$T/ngx/nginx.pid
nginx -p "$T/ngx" -c "$T/ngx/nginx.conf"
segv_status=$(curl -s -m 10 -o /dev/null -w "%{http_code}" http://127.0.0.1:18530/segv.php || true)
wait_for "$T/fpm.log" "exited on signal 11"
slow=()
for _ in 1 2 3 4; do
  curl -s -m 15 -o /dev/null http://127.0.0.1:18530/slow.php &
  slow+=($!)
done
for pid in "${slow[@]}"; do wait "$pid" || true; done
wait_for "$T/fpm.log" "max_children"
kill "$(cat "$NGINX_PID_FILE")"
NGINX_PID_FILE=
stop "$fpm_pid"
cp "$T/fpm.log" "$OUT/php-fpm.txt"
chmod 644 "$OUT/php-fpm.txt"
echo "php-fpm: nginx answered $segv_status for the SIGSEGV request; master stopped with SIGTERM" >>"$INFO"

# The same crashes as `journalctl -u <unit>` shows them: a private journald namespace (no systemd PID 1 here)
# receives the program's stdout/stderr on its stream socket, as systemd wires StandardOutput=journal.
printf '[Journal]\nStorage=volatile\n' >"$NS_CONF"
/usr/lib/systemd/systemd-journald "$NS" >/dev/null 2>&1 &
PIDS+=($!)
journald_pid=$!
wait_for_socket() {
  for _ in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.1; done
  echo "no socket $1" >&2
  return 1
}
wait_for_socket "/run/systemd/journal.$NS/stdout"
set +e
python3 "$CRASHERS/journal_stream.py" "/run/systemd/journal.$NS/stdout" checkout "$T/go-panic"
echo "journald checkout (go-panic): exit $?" >>"$INFO"
python3 "$CRASHERS/journal_stream.py" "/run/systemd/journal.$NS/stdout" orders python3 "$CRASHERS/python_traceback.py"
echo "journald orders (python traceback): exit $?" >>"$INFO"
set -e
for _ in $(seq 1 100); do
  journalctl --namespace="$NS" -q -o cat 2>/dev/null | grep -q "^IndexError" && break
  sleep 0.1
done
journalctl --namespace="$NS" -q -o short -t checkout -t orders >"$OUT/journalctl-short.txt"
journalctl --namespace="$NS" -q -o short-iso -t checkout -t orders >"$OUT/journalctl-short-iso.txt"
stop "$journald_pid"

{
  echo "captured: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "node $(node --version), $(java -version 2>&1 | head -1), $(python3 --version), $(go version | cut -d' ' -f3)"
  echo "gunicorn $(gunicorn --version 2>&1 | tr -d '()' | awk '{print $3}'), uWSGI $(uwsgi --version), $(php-fpm8.2 -v | head -1 | cut -d' ' -f1-2)"
  cat "$INFO"
} >"$OUT/capture-info.txt"
cat "$OUT/capture-info.txt"

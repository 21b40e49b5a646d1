#!/usr/bin/env bash
# Captures what worker servers and runtimes print when they end their own processes, and the command lines
# that name their limits, for the `app` and `ps` parser fixtures:
#   gunicorn 20.1 (Debian): a sync worker past its --timeout, with requests queued behind it; a worker
#     OOM-killed by the kernel in a memory cgroup;
#   php-fpm 8.2: request_terminate_timeout ending a request, a child killed with SIGKILL;
#   uWSGI 2.0.21: the command line naming --harakiri;
#   OpenJDK 17: a heap (-Xmx32m) exhausted in an HTTP handler, with -XX:+ExitOnOutOfMemoryError (exit 3),
#     with -XX:+HeapDumpOnOutOfMemoryError (it keeps running), and with neither;
#   node 20: the JS heap exhausted at --max-old-space-size.
# Each app log is the program's stdout and stderr together (2>&1); each ps is the collector's own
# `LC_ALL=C ps -o pid,lstart,etimes,args -p PID`. Programs are in scripts/capture/crashers/.
# Needs root (memory cgroup), gunicorn, uwsgi-core + uwsgi-plugin-python3, php8.2-fpm, nginx, java 17, node 20,
# curl. Listens only on 127.0.0.1:18540-18549; every process started here is stopped by pid, also on failure.
# Run from the repo root: scripts/capture/runtime-limits.sh [appdir] [psdir]
set -euo pipefail

APP_OUT=${1:-src/evidence/__fixtures__/app}
PS_OUT=${2:-src/evidence/__fixtures__/ps}
mkdir -p "$APP_OUT" "$PS_OUT"
APP_OUT=$(cd "$APP_OUT" && pwd)
PS_OUT=$(cd "$PS_OUT" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
CRASHERS=$HERE/crashers
T=$(mktemp -d)
CG=/sys/fs/cgroup/memory/why502-runtime-cap-$$
PIDS=()
NGINX_PID_FILE=

cleanup() {
  if [ -n "$NGINX_PID_FILE" ] && [ -s "$NGINX_PID_FILE" ]; then kill "$(cat "$NGINX_PID_FILE")" 2>/dev/null || true; fi
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -d "$CG" ]; then
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$CG/cgroup.procs"
    sleep 0.2
    rmdir "$CG" 2>/dev/null || true
  fi
  rm -rf -- "$T"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "needs root (memory cgroup, php-fpm's pool user)" >&2; exit 1; }

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

# Waits (bounded) until http://127.0.0.1:$1/ answers.
wait_http() {
  for _ in $(seq 1 300); do
    curl -s -m 1 -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  echo "nothing answered on 127.0.0.1:$1" >&2
  return 1
}

# Stops a server started in the background (pid $1) and awaits its exit; its exit code is in $STOPPED_RC.
STOPPED_RC=
stop() {
  kill "$1" 2>/dev/null || true
  set +e
  wait "$1"
  STOPPED_RC=$?
  set -e
  local keep=()
  for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}

# Awaits the exit of a background server (pid $1) that ends by itself; its exit code is in $STOPPED_RC.
reap() {
  set +e
  wait "$1"
  STOPPED_RC=$?
  set -e
  local keep=()
  for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}

# ps as the collector runs it, for pids $2..., into ps fixture $1.
ps_of() {
  local name=$1
  shift
  LC_ALL=C ps -o pid,lstart,etimes,args -p "$(IFS=,; echo "$*")" >"$PS_OUT/$name.txt"
}

# Child pids of $1.
children() { ps -o pid= --ppid "$1" | tr -d ' '; }

INFO=$T/info.txt
: >"$INFO"
ulimit -c 0
sleep_until_elapsed() { sleep 1.2; } # ELAPSED above 0 in the ps captures

# gunicorn 20.1, one sync worker with a 2 s timeout; three /slow requests at once: the first holds the worker
# until the master aborts it, the others wait in the listen backlog for the next worker, and the next.
gunicorn --chdir "$CRASHERS" -b 127.0.0.1:18540 --workers 1 --timeout 2 --graceful-timeout 1 wsgi_app:app \
  >"$APP_OUT/gunicorn-timeout-queued.txt" 2>&1 &
PIDS+=($!)
gpid=$!
wait_for "$APP_OUT/gunicorn-timeout-queued.txt" "Booting worker"
sleep_until_elapsed
ps_of gunicorn-args "$gpid" "$(children "$gpid" | head -n 1)"
for i in 1 2 3; do
  curl -s -m 20 -o /dev/null -w "gunicorn-timeout-queued: /slow #$i status %{http_code} after %{time_total} s\n" \
    http://127.0.0.1:18540/slow >"$T/curl-$i.txt" &
  slow[i]=$!
done
for i in 1 2 3; do wait "${slow[i]}" || true; cat "$T/curl-$i.txt" >>"$INFO"; done
wait_for "$APP_OUT/gunicorn-timeout-queued.txt" "WORKER TIMEOUT" 3
wait_for "$APP_OUT/gunicorn-timeout-queued.txt" "Booting worker" 4
stop "$gpid"
echo "gunicorn-timeout-queued: master stopped with SIGTERM" >>"$INFO"

# gunicorn 20.1 in a 96M memory cgroup: /leak grows the worker until the kernel kills it.
mkdir "$CG"
echo 96M >"$CG/memory.limit_in_bytes"
[ -f "$CG/memory.memsw.limit_in_bytes" ] && echo 96M >"$CG/memory.memsw.limit_in_bytes"
echo 0 >"$CG/memory.swappiness"
sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$CG" \
  gunicorn --chdir "$CRASHERS" -b 127.0.0.1:18541 --workers 1 --timeout 30 --graceful-timeout 1 wsgi_app:app \
  >"$APP_OUT/gunicorn-oom.txt" 2>&1 &
PIDS+=($!)
gpid=$!
wait_for "$APP_OUT/gunicorn-oom.txt" "Booting worker"
victim=$(children "$gpid" | head -n 1)
curl -s -m 20 -o /dev/null -w "gunicorn-oom: /leak status %{http_code} after %{time_total} s\n" \
  http://127.0.0.1:18541/leak >>"$INFO" || true
wait_for "$APP_OUT/gunicorn-oom.txt" "Booting worker" 2
dmesg | grep -E "Killed process $victim \(" | sed 's/^/gunicorn-oom: dmesg: /' >>"$INFO" || true
stop "$gpid"
echo "gunicorn-oom: master stopped with SIGTERM" >>"$INFO"
sleep 0.2
rmdir "$CG"

# uWSGI 2.0.21 with harakiri: its command line names the limit.
uwsgi --plugin python3 --http-socket 127.0.0.1:18542 --chdir "$CRASHERS" --wsgi-file wsgi_app.py --master \
  --processes 1 --harakiri 2 --die-on-term >"$T/uwsgi.txt" 2>&1 &
PIDS+=($!)
upid=$!
wait_for "$T/uwsgi.txt" "spawned uWSGI worker"
sleep_until_elapsed
ps_of uwsgi-args "$upid"
stop "$upid"

# php-fpm 8.2 behind nginx (FastCGI): request_terminate_timeout = 2 ends slow.php (3 s), then an idle child is
# killed with SIGKILL.
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
listen = 127.0.0.1:18544
pm = static
pm.max_children = 2
request_terminate_timeout = 2
EOF
cat >"$T/ngx/nginx.conf" <<EOF
worker_processes 1;
error_log $T/ngx/logs/error.log;
pid $T/ngx/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  server {
    listen 127.0.0.1:18543;
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $T/www\$fastcgi_script_name;
      fastcgi_pass 127.0.0.1:18544;
    }
  }
}
EOF
TZ=UTC php-fpm8.2 -R -F -y "$T/fpm.conf" >/dev/null 2>&1 &
PIDS+=($!)
fpm_pid=$!
wait_for "$T/fpm.log" "ready to handle connections"
NGINX_PID_FILE=$T/ngx/nginx.pid
nginx -p "$T/ngx" -c "$T/ngx/nginx.conf"
curl -s -m 10 -o /dev/null -w "php-fpm-limits: slow.php status %{http_code} after %{time_total} s\n" \
  http://127.0.0.1:18543/slow.php >>"$INFO" || true
wait_for "$T/fpm.log" "execution timed out"
wait_for "$T/fpm.log" "exited on signal"
wait_for "$T/fpm.log" "child [0-9]+ started"
sleep_until_elapsed
child=$(children "$fpm_pid" | head -n 1)
kill -9 "$child"
wait_for "$T/fpm.log" "exited on signal 9"
wait_for "$T/fpm.log" "child [0-9]+ started" 2
grep -h "upstream" "$T/ngx/logs/error.log" | sed 's/^/php-fpm-limits: nginx: /' >>"$INFO" || true
kill "$(cat "$NGINX_PID_FILE")"
NGINX_PID_FILE=
stop "$fpm_pid"
cp "$T/fpm.log" "$APP_OUT/php-fpm-limits.txt"
chmod 644 "$APP_OUT/php-fpm-limits.txt"
echo "php-fpm-limits: master stopped with SIGTERM" >>"$INFO"

# OpenJDK 17, heap capped at 32 MiB, single-file source launch; /leak fills the heap in the HTTP handler.
java_run() { # NAME PORT JVM-FLAGS...: start, ps (first run only), /leak, then either it exits or is stopped
  local name=$1 port=$2
  shift 2
  (cd "$T" && exec java -Xmx32m "$@" "$CRASHERS/HeapServer.java" "$port") >"$T/$name.txt" 2>&1 &
  PIDS+=($!)
  jpid=$!
  wait_http "$port"
}
java_run java-heap-exit 18545 -XX:+ExitOnOutOfMemoryError
sleep_until_elapsed
ps_of java-args "$jpid"
curl -s -m 20 -o /dev/null -w "java-heap-exit: /leak status %{http_code}\n" http://127.0.0.1:18545/leak >>"$INFO" || true
reap "$jpid"
echo "java-heap-exit: exit $STOPPED_RC" >>"$INFO"
cp "$T/java-heap-exit.txt" "$APP_OUT/"

java_run java-heap-dump 18546 -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$T"
curl -s -m 20 -o /dev/null -w "java-heap-dump: /leak status %{http_code}\n" http://127.0.0.1:18546/leak >>"$INFO" || true
wait_for "$T/java-heap-dump.txt" "Heap dump file created"
curl -s -m 5 -o /dev/null -w "java-heap-dump: / afterwards status %{http_code} (still running)\n" \
  http://127.0.0.1:18546/ >>"$INFO" || true
stop "$jpid"
echo "java-heap-dump: stopped with SIGTERM, exit $STOPPED_RC" >>"$INFO"
# The dump's path names the pid and the capture's temp dir.
cp "$T/java-heap-dump.txt" "$APP_OUT/"

java_run java-heap-silent 18547
curl -s -m 20 -o /dev/null -w "java-heap-silent: /leak status %{http_code}\n" http://127.0.0.1:18547/leak >>"$INFO" || true
curl -s -m 5 -o /dev/null -w "java-heap-silent: / afterwards status %{http_code} (still running)\n" \
  http://127.0.0.1:18547/ >>"$INFO" || true
stop "$jpid"
echo "java-heap-silent: stopped with SIGTERM, exit $STOPPED_RC" >>"$INFO"
# What the JVM prints here varies from run to run: nothing, or a line about the dispatcher thread's death.
cp "$T/java-heap-silent.txt" "$APP_OUT/"

# node 20, JS heap capped with --max-old-space-size=24; /leak fills it.
node --max-old-space-size=24 "$CRASHERS/heap-server.js" 18548 >"$T/node-heap-server.txt" 2>&1 &
PIDS+=($!)
npid=$!
wait_http 18548
sleep_until_elapsed
ps_of node-args "$npid"
curl -s -m 30 -o /dev/null -w "node-heap-server: /leak status %{http_code}\n" http://127.0.0.1:18548/leak >>"$INFO" || true
reap "$npid"
echo "node-heap-server: exit $STOPPED_RC" >>"$INFO"
cp "$T/node-heap-server.txt" "$APP_OUT/"

{
  echo "captured: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "node $(node --version), $(java -version 2>&1 | head -1), gunicorn $(gunicorn --version 2>&1 | tr -d '()' | awk '{print $3}'), uWSGI $(uwsgi --version), $(php-fpm8.2 -v | head -1 | cut -d' ' -f1-2)"
  cat "$INFO"
} >"$APP_OUT/runtime-limits-info.txt"
cat "$APP_OUT/runtime-limits-info.txt"

#!/usr/bin/env bash
# Captures real supervisord 4.x output for the `supervisord` parser fixtures: its main log (spawned, success,
# exited with a status or a signal, gave up, stopped, spawnerr) and `supervisorctl status` / `pid` in every
# state (RUNNING, STARTING, BACKOFF, FATAL, EXITED, STOPPED).
# Needs: Debian's `supervisor` package (apt-get install -y supervisor; its system service does not start in a
# container), node 20. Starts one supervisord of its own on a unix socket in a temp dir (no TCP port) and
# stops it by pid, also on failure. Run from the repo root: scripts/capture/supervisord.sh [outdir]
set -euo pipefail

OUT=${1:-src/evidence/supervisord/__fixtures__}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
SUP_PID=

cleanup() {
  if [ -n "$SUP_PID" ]; then
    kill "$SUP_PID" 2>/dev/null || true
    wait "$SUP_PID" 2>/dev/null || true
  fi
  rm -rf -- "$T"
}
trap cleanup EXIT

ctl() { supervisorctl -c "$T/supervisord.conf" "$@"; }

# Waits (bounded) until `supervisorctl status $1` shows state $2.
wait_state() {
  for _ in $(seq 1 200); do
    # supervisorctl status exits non-zero for a program that is not running: read its output first.
    local s
    s=$(ctl status "$1" 2>/dev/null) || true
    if grep -qE "^$1 +$2( |$)" <<<"$s"; then return 0; fi
    sleep 0.05
  done
  echo "$1 never reached $2: $(ctl status "$1" || true)" >&2
  return 1
}

# Waits (bounded) until the main log has at least $2 (default 1) lines matching the regex $1.
wait_log() {
  for _ in $(seq 1 200); do
    local n
    n=$(grep -cE -- "$1" "$T/supervisord.log" 2>/dev/null) || true
    if [ "${n:-0}" -ge "${2:-1}" ]; then return 0; fi
    sleep 0.05
  done
  echo "supervisord.log never showed /$1/" >&2
  return 1
}

mkdir "$T/cores"
cat >"$T/supervisord.conf" <<CONF
[unix_http_server]
file=$T/supervisor.sock
chmod=0700

[supervisord]
logfile=$T/supervisord.log
pidfile=$T/supervisord.pid
childlogdir=$T
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$T/supervisor.sock

; Cannot start: logs a banner and one fatal line, exits 1, every time.
[program:checkout]
command=node $HERE/crashers/start-fatal.js $T/missing/flags.json
startsecs=1
startretries=3
stdout_logfile=$T/checkout.log
redirect_stderr=true

; Killed by hand (SIGKILL), restarted.
[program:worker]
command=sleep 1000
startsecs=1
stdout_logfile=$T/worker.log

; Exits 3 once it has run for a while; not restarted.
[program:batch]
command=sh -c 'sleep 1.5; exit 3'
startsecs=1
autorestart=false
stdout_logfile=$T/batch.log

; Dies of SIGSEGV with a core limit, so the kernel writes a core (in its directory).
[program:native]
command=sh -c 'ulimit -c unlimited; exec sleep 1000'
directory=$T/cores
startsecs=1
stdout_logfile=$T/native.log

; Stopped with supervisorctl stop.
[program:cron]
command=sleep 1000
startsecs=1
stdout_logfile=$T/cron.log

; A command that does not exist.
[program:typo]
command=$T/bin/chekout
startretries=1
stdout_logfile=$T/typo.log
CONF

supervisord -c "$T/supervisord.conf" >/dev/null 2>&1 &
SUP_PID=$!

for _ in $(seq 1 100); do [ -S "$T/supervisor.sock" ] && break; sleep 0.05; done
wait_state worker STARTING
ctl status >"$OUT/status-starting.txt" || true
wait_state checkout BACKOFF
ctl status checkout >"$OUT/status-backoff.txt" || true
wait_state worker RUNNING
wait_state native RUNNING
wait_state cron RUNNING
ctl pid worker >"$OUT/pid-running.txt"

kill -KILL "$(ctl pid worker)"
wait_log "exited: worker \(terminated by SIGKILL"
kill -SEGV "$(ctl pid native)"
wait_log "exited: native \(terminated by SIGSEGV"
ctl stop cron >/dev/null
wait_state checkout FATAL
wait_state batch EXITED
wait_state typo FATAL
wait_state worker RUNNING
wait_state native RUNNING
ctl status checkout >"$OUT/status-fatal.txt" || true
ctl pid checkout >"$OUT/pid-fatal.txt" || true
ctl status >"$OUT/status-all.txt" || true

kill -TERM "$SUP_PID"
wait "$SUP_PID" || true
SUP_PID=
cp "$T/supervisord.log" "$OUT/supervisord.log"
cp "$T/checkout.log" "$OUT/checkout-program.log"
{
  echo "supervisord: $(supervisord --version)"
  echo "captured: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "TZ: ${TZ:-unset}, date +%z: $(date +%z)"
  echo "core_pattern: $(cat /proc/sys/kernel/core_pattern)"
} >"$OUT/capture-info.txt"
echo "wrote $OUT"

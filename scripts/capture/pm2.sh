#!/usr/bin/env bash
# Captures real PM2 output for the `pm2` parser fixtures: the daemon's log ($PM2_HOME/pm2.log: starting,
# online, exited with code/signal, too many unstable restarts), `pm2 jlist` as PM2 prints it, and the command
# why502 runs (`pm2 jlist` reduced to the restart and exit fields, src/collect/supervisors.ts).
# Needs: node 20 and PM2 from npm, outside the repo: $PM2 or /var/cache/why502-lab/pm2 (installed there with
# `npm install --prefix` when missing). PM2_HOME is a temp dir; every pm2 command runs with a minimal
# environment (`env -i`), so the captured jlist holds no environment of this machine. The daemon is stopped
# with `pm2 kill`, also on failure. Run from the repo root: scripts/capture/pm2.sh [outdir]
set -euo pipefail

OUT=${1:-src/evidence/pm2/__fixtures__}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CRASHERS=$ROOT/scripts/capture/crashers
CACHE=/var/cache/why502-lab/pm2
PM2=${PM2:-$CACHE/node_modules/.bin/pm2}
if [ ! -x "$PM2" ]; then
  mkdir -p "$CACHE"
  npm install --prefix "$CACHE" --no-audit --no-fund --loglevel=error pm2@7 >/dev/null
fi
T=$(mktemp -d)
export PM2_HOME=$T/home
mkdir "$PM2_HOME" "$T/cores"

pm2() { env -i PATH=/usr/bin:/bin HOME="$T" PM2_HOME="$PM2_HOME" "$PM2" "$@"; }
cleanup() {
  pm2 kill >/dev/null 2>&1 || true
  rm -rf -- "$T"
}
trap cleanup EXIT

# Waits (bounded) until pm2.log has at least $2 (default 1) lines matching the regex $1.
wait_log() {
  for _ in $(seq 1 200); do
    local n
    n=$(grep -cE -- "$1" "$PM2_HOME/pm2.log" 2>/dev/null) || true
    if [ "${n:-0}" -ge "${2:-1}" ]; then return 0; fi
    sleep 0.05
  done
  echo "pm2.log never showed /$1/" >&2
  return 1
}
pid_of() { cat "$PM2_HOME/pids/$1-$2.pid"; }

# Cannot start: a banner, one fatal line, exit 1, every time; PM2 gives up after 16 unstable restarts.
pm2 start "$CRASHERS/start-fatal.js" --name checkout -- "$T/missing/flags.json" >/dev/null
pm2 start "$CRASHERS/idle.js" --name worker >/dev/null
pm2 start "$CRASHERS/idle.js" --name native --cwd "$T/cores" >/dev/null
pm2 start "$CRASHERS/idle.js" --name cron >/dev/null
wait_log "App \[worker:1\] online"
wait_log "App \[native:2\] online"
wait_log "App \[cron:3\] online"
kill -KILL "$(pid_of worker 1)"
wait_log "App \[worker:1\] exited"
kill -SEGV "$(pid_of native 2)"
wait_log "App \[native:2\] exited"
pm2 stop cron >/dev/null
wait_log "too many unstable restarts"
wait_log "App \[worker:1\] online" 2
wait_log "App \[native:2\] online" 2

pm2 jlist >"$T/jlist.json"
# Pretty-printed, one key a line, as `python3 -m json.tool` prints it: the same JSON, easier to read.
python3 -m json.tool "$T/jlist.json" >"$OUT/jlist.json"
WHY502_SH=$(cd "$ROOT" && npx tsx -e '
import { pm2JlistShell } from "./src/collect/supervisors.ts";
process.stdout.write(pm2JlistShell("checkout", process.argv[1], process.argv[2]));
' "$PM2_HOME" "$PM2")
env -i PATH=/usr/bin:/bin HOME="$T" sh -c "$WHY502_SH" >"$OUT/jlist-fields-errored.txt"
env -i PATH=/usr/bin:/bin HOME="$T" sh -c "${WHY502_SH%checkout\'}worker'" >"$OUT/jlist-fields-online.txt"
env -i PATH=/usr/bin:/bin HOME="$T" sh -c "${WHY502_SH%checkout\'}cron'" >"$OUT/jlist-fields-stopped.txt"

cp "$PM2_HOME/pm2.log" "$OUT/pm2.log"
cp "$PM2_HOME/logs/checkout-error.log" "$OUT/checkout-error.log"
cp "$PM2_HOME/logs/checkout-out.log" "$OUT/checkout-out.log"
{
  echo "pm2: $(pm2 --version)"
  echo "node: $(node --version)"
  echo "captured: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "TZ: ${TZ:-unset}, date +%z: $(date +%z)"
  echo "PM2_HOME (temp, removed): $PM2_HOME"
} >"$OUT/capture-info.txt"
echo "wrote $OUT"

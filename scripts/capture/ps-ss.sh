#!/usr/bin/env bash
# Captures real `ps`, `ss` and `netstat` output into src/evidence/__fixtures__/{ps,ss}/.
#
# Run as root from anywhere: `bash scripts/capture/ps-ss.sh`. It re-runs itself in a private network
# namespace (`unshare -n`, loopback only), so the listeners it starts (nginx, node, python) are reachable
# from nothing else, wildcard addresses (0.0.0.0, [::], *) can be shown safely, and `ss` lists only them.
# Every process it starts is stopped by pid on exit, also on failure.
# Needs: nginx, node, /usr/bin/python3, procps ps, iproute2 ss, net-tools netstat (optional), setpriv,
# the de_DE.UTF-8 locale (optional: `locale-gen de_DE.UTF-8`).
set -euo pipefail

if [[ -z ${WHY502_IN_NETNS:-} ]]; then
  exec unshare -n env WHY502_IN_NETNS=1 bash "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PS_DIR=$ROOT/src/evidence/__fixtures__/ps
SS_DIR=$ROOT/src/evidence/__fixtures__/ss
mkdir -p "$PS_DIR" "$SS_DIR"
WORK=$(mktemp -d /tmp/why502-capture.XXXXXX)
STARTED=()

cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_listen() {
  local port=$1 i
  for i in $(seq 1 100); do
    if ss -Hltn "sport = :$port" | grep -q .; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on port $port" >&2
  return 1
}

ip link set lo up

cat >"$WORK/nginx.conf" <<EOF
user www-data;
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 64; }
http {
  access_log off;
  server {
    listen 127.0.0.1:18400;
    listen 127.0.0.1:18401;
    listen 18404;
    listen [::]:18405;
    listen [::]:18406 ipv6only=off;
    listen 127.0.0.1:18408 reuseport;
    return 200 "ok\n";
  }
}
EOF
nginx -p "$WORK" -c "$WORK/nginx.conf" -g "daemon off;" &
NGINX=$!
STARTED+=("$NGINX")

node -e 'require("http").createServer((q, s) => s.end("ok\n")).listen(18402, "::1")' &
NODE=$!
STARTED+=("$NODE")

/usr/bin/python3 -m http.server 18403 --bind 127.0.0.1 --directory "$WORK" >/dev/null 2>&1 &
PY=$!
STARTED+=("$PY")

# A listener bound to a device (SO_BINDTODEVICE), which ss shows as `127.0.0.1%lo:PORT`.
/usr/bin/python3 -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
s.bind(("127.0.0.1", 18407))
s.listen()
time.sleep(600)
' &
BOUND=$!
STARTED+=("$BOUND")

/usr/bin/python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 18409))
time.sleep(600)
' &
UDP=$!
STARTED+=("$UDP")

for port in 18400 18401 18402 18403 18404 18405 18406 18407 18408; do wait_listen "$port"; done

# A client that keeps one keepalive connection to nginx open, for ESTAB rows.
/usr/bin/python3 -c '
import socket, time
c = socket.create_connection(("127.0.0.1", 18401))
c.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
c.recv(4096)
time.sleep(600)
' &
CLIENT=$!
STARTED+=("$CLIENT")
for i in $(seq 1 100); do
  if ss -Htn state established "dport = :18401" | grep -q .; then break; fi
  sleep 0.05
done

# A parent that never reaps its child: the child stays a zombie, which ps shows as `[sleep] <defunct>`.
bash -c 'sleep 0 & exec sleep 600' &
REAPER=$!
STARTED+=("$REAPER")

sleep 2  # so that ELAPSED is not 0
WORKERS=$(ps --ppid "$NGINX" -o pid= | tr -d ' ' | paste -sd, -)
PIDS="$NGINX,$WORKERS,$NODE,$PY"
MINE="$PIDS,$BOUND,$CLIENT"
echo "nginx master $NGINX, workers $WORKERS, node $NODE, python $PY"

# ---- ps ----
export LC_TIME=C
ps -o pid,lstart,etimes,args -p "$PIDS" >"$PS_DIR/lstart-etimes-args.txt"
# -C selects by command name on the whole machine: keep the header and our own nginx processes only.
ps -o pid,ppid,user,lstart,etimes,cmd -C nginx |
  awk -v mine="$MINE" 'BEGIN { n = split(mine, a, ","); for (i = 1; i <= n; i++) keep[a[i]] = 1 }
    NR == 1 || ($1 in keep)' >"$PS_DIR/nginx-by-name.txt"
ps -o pid=,lstart=,etimes=,args= -p "$PIDS" >"$PS_DIR/headerless.txt"
ps -o pid,lstart,etime,args -p "$PIDS" >"$PS_DIR/etime.txt"
ps -o pid,ppid,user,lstart,etimes,comm -p "$PIDS" >"$PS_DIR/comm.txt"
ps -o pid,etimes,args -p "$PIDS" >"$PS_DIR/no-lstart.txt"
ps -o pid=,ppid=,user=,lstart=,etime=,comm= -p "$PIDS" >"$PS_DIR/headerless-custom-columns.txt"
ZOMBIE=$(ps --ppid "$REAPER" -o pid= | tr -d ' ')
ps -o pid,ppid,user,lstart,etimes,args -p "$REAPER,$ZOMBIE" >"$PS_DIR/zombie.txt"
# pid 2 (kthreadd) runs since boot: the longest elapsed time on the machine, and a `[name]` kernel thread.
ps -o pid,ppid,user,lstart,etime,args -p 2 >"$PS_DIR/kernel-thread-since-boot.txt"
# The same processes, read in two zones within the same second or two.
TZ=UTC ps -o pid,lstart,etimes,args -p "$PIDS" >"$PS_DIR/tz-utc.txt"
TZ=America/New_York ps -o pid,lstart,etimes,args -p "$PIDS" >"$PS_DIR/tz-new-york.txt"
if locale -a | grep -qi '^de_DE.utf-\?8$'; then
  LC_ALL=de_DE.UTF-8 ps -o pid,user,lstart,etime,args -p "$PIDS" >"$PS_DIR/locale-de.txt"
else
  echo "de_DE.UTF-8 locale missing: locale-de.txt not captured" >&2
fi
{
  # Rows cut inside the start time and inside the command, ps's own error output, bytes of a binary.
  head -n 1 "$PS_DIR/etime.txt"
  sed -n 2p "$PS_DIR/etime.txt" | cut -c1-20
  sed -n 3p "$PS_DIR/etime.txt" | cut -c1-60
  ps -o pid,lstart -p notapid 2>&1 || true
  ps -o pid,bogus 2>&1 || true
  head -c 64 /usr/bin/ps
  echo
} >"$PS_DIR/malformed.txt"

# ---- ss / netstat ----
ss -ltnp >"$SS_DIR/ltnp.txt"
ss -ltn >"$SS_DIR/ltn.txt"
ss -ltnpH >"$SS_DIR/ltnpH.txt"
ss -tanp >"$SS_DIR/tanp-all-states.txt"
# Two protocols asked for: ss adds the Netid column.
ss -ltunp >"$SS_DIR/ltunp-netid.txt"
setpriv --reuid=nobody --regid=nogroup --clear-groups ss -ltnp >"$SS_DIR/ltnp-not-root.txt"
if command -v netstat >/dev/null; then
  netstat -ltnp >"$SS_DIR/netstat-ltnp.txt"
  setpriv --reuid=nobody --regid=nogroup --clear-groups netstat -ltnp >"$SS_DIR/netstat-ltnp-not-root.txt" 2>/dev/null
else
  echo "netstat missing: netstat fixtures not captured" >&2
fi
{
  # Rows cut inside the columns, ss's own error output, bytes of a binary.
  head -n 1 "$SS_DIR/ltnp.txt"
  sed -n 2p "$SS_DIR/ltnp.txt" | cut -c1-20
  sed -n 3p "$SS_DIR/ltnp.txt" | cut -c1-40
  ss -ltnp --bogus 2>&1 | head -n 3 || true
  head -c 64 "$(command -v ss)"
  echo
} >"$SS_DIR/malformed.txt"

{
  echo "captured $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -r)"
  ps --version
  ss --version
  nginx -v 2>&1
  echo "node $(node -v)"
  /usr/bin/python3 --version
} >&2

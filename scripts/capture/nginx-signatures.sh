#!/usr/bin/env bash
# Capture real nginx error-log (and access-log) lines for every upstream failure the nginx-error parser
# must understand, against small fake backends that fail for real.
#
# usage: sudo bash scripts/capture/nginx-signatures.sh [OUT_DIR [ACCESS_LOG]]
#   OUT_DIR defaults to src/evidence/__fixtures__/nginx-error, ACCESS_LOG (the access log of the same
#   run, main_ext format) to src/evidence/__fixtures__/nginx-access/captured-main-ext.log.
#
# Needs root, nginx (Debian 1.22 package), libnginx-mod-stream, python3, curl, openssl; rsyslogd (Debian
# package rsyslog) and logger are used for the syslog variants when present.
#
# The whole run happens inside a private network namespace (unshare -n) with only loopback up, so no
# packet can leave the machine. Inside it, two host routes on loopback addresses make the kernel's
# synchronous connect() errors reproducible: 127.0.0.113 is "unreachable" (EHOSTUNREACH, 113) and
# 127.0.0.101 is "throw" (no route: ENETUNREACH, 101). tcp_syn_retries=1 (per namespace) makes the
# kernel give up a dropped SYN after about 3 s, so `connect() failed (110: ...)` shows up.
# Ports used: 127.0.0.1:18000-18199 and [::1] in the same range. nginx runs with TZ=Europe/Berlin so
# the zone-less error-log times differ from UTC.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/src/evidence/__fixtures__/nginx-error}
ACCESS_OUT=${2:-$ROOT/src/evidence/__fixtures__/nginx-access/captured-main-ext.log}
BACKENDS=$ROOT/scripts/capture/backends

if [[ ${WHY502_NETNS:-} != 1 ]]; then
  exec unshare -n env WHY502_NETNS=1 bash "$0" "$OUT" "$ACCESS_OUT"
fi

ip link set lo up
ip route add unreachable 127.0.0.113/32 table local
ip route add throw 127.0.0.101/32 table local
sysctl -qw net.ipv4.tcp_syn_retries=1

T=$(mktemp -d /tmp/why502-ngx.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/conf" "$T/logs" "$T/run" "$T/tls" "$T/html" "$T/tmp"
chmod 755 "$T/run"
export TZ=Europe/Berlin

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

start() { "$@" >>"$T/logs/backends.out" 2>&1 & PIDS+=($!); }

# --- certificates ----------------------------------------------------------------------------------
(
  cd "$T/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=selfsigned.test" \
    -keyout self.key -out self.crt 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=why502 test CA" \
    -keyout ca.key -out ca.crt 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=other.test" -keyout leaf.key -out leaf.csr 2>/dev/null
  openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out leaf.crt 2>/dev/null
)

# --- backends ----------------------------------------------------------------------------------------
B="python3 $BACKENDS/tcp-upstream.py"
start $B reset 127.0.0.1:18100
start $B close 127.0.0.1:18101
start $B midbody 127.0.0.1:18102
start $B hang 127.0.0.1:18103
start $B bigheader 127.0.0.1:18104
start $B badheader 127.0.0.1:18105
start $B garbage 127.0.0.1:18106
start $B ok 127.0.0.1:18107
start $B ok 127.0.0.1:18108 "$T/tls/self.crt" "$T/tls/self.key"
start $B ok 127.0.0.1:18109 "$T/tls/leaf.crt" "$T/tls/leaf.key"
start $B drain 127.0.0.1:18110
start $B backlog 127.0.0.1:18111
start $B ok 127.0.0.1:18112
start $B reset 127.0.0.1:18113 "$T/tls/self.crt" "$T/tls/self.key"
start $B reset "[::1]:18114"
start $B close 127.0.0.1:18115 "$T/tls/self.crt" "$T/tls/self.key"
start $B hang "[::1]:18116"
start $B ok 127.0.0.1:18117 "$T/tls/leaf.crt" "$T/tls/leaf.key"
start $B ok "unix:$T/run/denied.sock"
start $B backlog "unix:$T/run/busy.sock"
start $B hang "unix:$T/run/uwsgi-hang.sock"
F="python3 $BACKENDS/fastcgi-upstream.py"
start $F unknown "unix:$T/run/fcgi-unknown.sock"
start $F fatal "unix:$T/run/fcgi-fatal.sock"
start $F premature "unix:$T/run/fcgi-premature.sock"
D="python3 $BACKENDS/dns-upstream.py"
start $D 3 127.0.0.1 18180
start $D 2 127.0.0.1 18181
start $D drop 127.0.0.1 18183
start python3 "$BACKENDS/udp-sink.py" 127.0.0.1 18073 "$T/logs/syslog-wire.log"
# A socket file nobody listens on any more (a process that died without unlinking it).
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$T/run/stale.sock"

for _ in $(seq 50); do
  [[ -S $T/run/denied.sock && -S $T/run/busy.sock && -S $T/run/uwsgi-hang.sock && -S $T/run/fcgi-premature.sock ]] && break
  sleep 0.1
done
sleep 0.5
chmod 666 "$T/run/busy.sock" "$T/run/uwsgi-hang.sock" "$T/run/stale.sock"
chmod 000 "$T/run/denied.sock"

# --- rsyslog: nginx's own syslog output and `logger` (journald-style tag[pid]) ----------------------
HAVE_RSYSLOG=0
if command -v rsyslogd >/dev/null && command -v logger >/dev/null; then
  HAVE_RSYSLOG=1
  cat >"$T/conf/rsyslog.conf" <<EOF
global(workDirectory="$T/tmp")
module(load="imudp")
module(load="imuxsock" SysSock.Use="off")
input(type="imudp" address="127.0.0.1" port="18072")
input(type="imuxsock" Socket="$T/run/log.sock" CreatePath="on")
action(type="omfile" file="$T/logs/syslog-traditional.log" template="RSYSLOG_TraditionalFileFormat")
action(type="omfile" file="$T/logs/syslog-rfc3339.log" template="RSYSLOG_FileFormat")
EOF
  rsyslogd -n -f "$T/conf/rsyslog.conf" -i "$T/run/rsyslogd.pid" >>"$T/logs/backends.out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do [[ -S $T/run/log.sock ]] && break; sleep 0.1; done
fi

# --- nginx ---------------------------------------------------------------------------------------------
MAIN_EXT='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" ua="$upstream_addr" us="$upstream_status"'
SYSLOG_SERVER=""
if [[ $HAVE_RSYSLOG == 1 ]]; then
  SYSLOG_SERVER="
  server {
    listen 127.0.0.1:18003;
    server_name syslog.test;
    error_log syslog:server=127.0.0.1:18072,tag=nginx info;
    error_log syslog:server=127.0.0.1:18073,tag=nginx info;
    location /refused { proxy_pass http://127.0.0.1:18190; }
    location /reset { proxy_pass http://127.0.0.1:18100; }
    location /timeout { proxy_read_timeout 1s; proxy_pass http://127.0.0.1:18103; }
  }"
fi

cat >"$T/conf/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
user nobody nogroup;
worker_processes 1;
pid $T/run/nginx.pid;
error_log $T/logs/main.log info;
events { worker_connections 256; }

http {
  log_format main_ext '$MAIN_EXT';
  access_log $T/logs/access.log main_ext;
  client_body_temp_path $T/tmp/body;
  proxy_temp_path $T/tmp/proxy;
  fastcgi_temp_path $T/tmp/fastcgi;
  uwsgi_temp_path $T/tmp/uwsgi;
  scgi_temp_path $T/tmp/scgi;
  client_max_body_size 64m;

  upstream app_pool {
    server 127.0.0.1:18191 max_fails=1 fail_timeout=30s;
    server 127.0.0.1:18192 max_fails=1 fail_timeout=30s;
  }
  upstream mixed {
    server 127.0.0.1:18190 max_fails=0;
    server 127.0.0.1:18100 max_fails=0;
  }
  upstream keep {
    server 127.0.0.1:18101;
    keepalive 4;
  }

  server {
    listen 127.0.0.1:18000;
    server_name gw.test;
    error_log $T/logs/http.log info;

    location /refused { proxy_pass http://127.0.0.1:18190; }
    location /reset { proxy_pass http://127.0.0.1:18100; }
    location /premature { proxy_pass http://127.0.0.1:18101; }
    location /midbody { proxy_pass http://127.0.0.1:18102; }
    location /timeout { proxy_read_timeout 1s; proxy_pass http://127.0.0.1:18103; }
    location /bigheader { proxy_pass http://127.0.0.1:18104; }
    location /badheader { proxy_pass http://127.0.0.1:18105; }
    location /garbage { proxy_pass http://127.0.0.1:18106; }
    location /tlsplain { proxy_pass https://127.0.0.1:18107; }
    location /tlsverify {
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
      proxy_pass https://127.0.0.1:18108;
    }
    location /tlsissuer {
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
      proxy_pass https://127.0.0.1:18109;
    }
    location /tlsname {
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate $T/tls/ca.crt;
      proxy_ssl_name app.internal;
      proxy_pass https://127.0.0.1:18117;
    }
    location /tlsreset { proxy_pass https://127.0.0.1:18113; }
    location /tlsclose { proxy_pass https://127.0.0.1:18115; }
    location /upload { proxy_pass http://127.0.0.1:18110; }
    location /upload-stream { proxy_request_buffering off; proxy_pass http://127.0.0.1:18110; }
    location /synstall { proxy_connect_timeout 10s; proxy_pass http://127.0.0.1:18111; }
    location /connecttimeout { proxy_connect_timeout 1s; proxy_pass http://127.0.0.1:18111; }
    location /noroute { proxy_pass http://127.0.0.113:18000; }
    location /nonet { proxy_pass http://127.0.0.101:18000; }
    location /pool { proxy_pass http://app_pool; }
    location /mixed { proxy_pass http://mixed; }
    location /keep {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://keep;
    }
    location /auth { auth_request /_auth; proxy_pass http://127.0.0.1:18112; }
    location = /_auth { internal; proxy_pass http://127.0.0.1:18190/check; }
    location /resolve-nx { resolver 127.0.0.1:18180; set \$h app.invalid; proxy_pass http://\$h:18112; }
    location /resolve-servfail {
      resolver 127.0.0.1:18181;
      set \$h api.internal;
      proxy_pass http://\$h:18112;
    }
    location /resolve-down {
      resolver 127.0.0.1:18182;
      resolver_timeout 2s;
      set \$h db.internal;
      proxy_pass http://\$h:18112;
    }
    location /resolve-drop {
      resolver 127.0.0.1:18183;
      resolver_timeout 2s;
      set \$h cache.internal;
      proxy_pass http://\$h:18112;
    }
    location /noresolver { set \$h app.internal; proxy_pass http://\$h:18112; }
    location /uwsgi { include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:18190; }
    location /scgi { include /etc/nginx/scgi_params; scgi_pass 127.0.0.1:18190; }
    location /grpc { grpc_pass grpc://127.0.0.1:18190; }
    location /errpage {
      error_page 502 /50x.html;
      proxy_pass http://127.0.0.1:18190;
    }
    location = /50x.html { root $T/html/missing; }
    location /ok { proxy_pass http://127.0.0.1:18112; }
  }

  server {
    listen [::1]:18001;
    server_name v6.test;
    error_log $T/logs/ipv6.log info;
    location /refused { proxy_pass http://[::1]:18194; }
    location /reset { proxy_pass http://[::1]:18114; }
    location /timeout { proxy_read_timeout 1s; proxy_pass http://[::1]:18116; }
  }

  server {
    listen 127.0.0.1:18002;
    server_name php.test;
    error_log $T/logs/unix.log info;
    location /missing { proxy_pass http://unix:$T/run/missing.sock:/; }
    location /denied { proxy_pass http://unix:$T/run/denied.sock; }
    location /busy { proxy_pass http://unix:$T/run/busy.sock; }
    location /stale { proxy_pass http://unix:$T/run/stale.sock; }
    location /uwsgi-timeout {
      include /etc/nginx/uwsgi_params;
      uwsgi_read_timeout 1s;
      uwsgi_pass unix:$T/run/uwsgi-hang.sock;
    }
    location ~ \.php\$ {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME /var/www/html\$fastcgi_script_name;
      set \$sock php-fpm;
      if (\$uri ~ ^/unknown) { set \$sock fcgi-unknown; }
      if (\$uri ~ ^/fatal) { set \$sock fcgi-fatal; }
      if (\$uri ~ ^/premature) { set \$sock fcgi-premature; }
      fastcgi_pass unix:$T/run/\$sock.sock;
    }
  }

  server {
    listen 127.0.0.1:18005;
    server_name docker.test;
    error_log stderr info;
    location /refused { proxy_pass http://127.0.0.1:18190; }
    location /reset { proxy_pass http://127.0.0.1:18100; }
    location /premature { proxy_pass http://127.0.0.1:18101; }
  }
$SYSLOG_SERVER
}

stream {
  error_log $T/logs/stream.log info;
  server { listen 127.0.0.1:18060; proxy_pass 127.0.0.1:18190; }
  server { listen 127.0.0.1:18061; proxy_pass 127.0.0.1:18100; }
  server { listen 127.0.0.1:18062; proxy_timeout 1s; proxy_pass 127.0.0.1:18103; }
  server { listen 127.0.0.1:18063; proxy_pass 127.0.0.113:18000; }
}
EOF

nginx -t -p "$T" -c "$T/conf/nginx.conf" 2>"$T/logs/nginx-t.out" || { cat "$T/logs/nginx-t.out"; exit 1; }
nginx -p "$T" -c "$T/conf/nginx.conf" -g "daemon off;" 2> >(python3 "$BACKENDS/docker-stamp.py" "$T/logs/docker.log") &
NGINX=$!
PIDS+=("$NGINX")
for _ in $(seq 50); do [[ -s $T/run/nginx.pid ]] && break; sleep 0.1; done
sleep 0.3

STATUSES=$T/logs/statuses.txt
req() {
  local url=$1
  shift
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 "$@" "$url" || true)
  echo "$code $url" >>"$STATUSES"
}

H=http://127.0.0.1:18000
req "$H/ok"
req "$H/refused/api/orders?id=7" -e "https://shop.test/cart"
req "$H/refused/health" --http1.0 -H "Host:"
req "$H/reset/api/pay" -X POST -d 'amount=12'
req "$H/premature/slow"
req "$H/midbody/download.bin"
req "$H/timeout/report"
req "$H/bigheader/login"
req "$H/badheader/"
req "$H/garbage/"
req "$H/tlsplain/"
req "$H/tlsverify/"
req "$H/tlsissuer/"
req "$H/tlsname/"
req "$H/tlsreset/"
req "$H/tlsclose/"
head -c 8388608 /dev/zero >"$T/tmp/upload.bin"
req "$H/upload" --data-binary "@$T/tmp/upload.bin"
req "$H/upload-stream" --data-binary "@$T/tmp/upload.bin"
req "$H/synstall/"
req "$H/connecttimeout/"
req "$H/noroute/"
req "$H/nonet/"
req "$H/pool/refused?id=42"
req "$H/pool/refused?id=43"
req "$H/pool/refused?id=44"
req "$H/mixed/"
req "$H/keep/a"
req "$H/auth/private"
req "$H/resolve-nx/"
req "$H/resolve-servfail/"
req "$H/resolve-down/"
req "$H/resolve-drop/"
req "$H/noresolver/"
req "$H/uwsgi/"
req "$H/scgi/"
req "$H/grpc/"
req "$H/errpage/"
# A request line long enough that nginx cuts the error-log line at its 2048-byte limit.
req "$H/refused/long?q=$(printf 'x%.0s' $(seq 2100))"

V=http://[::1]:18001
req "$V/refused/"
req "$V/reset/"
req "$V/timeout/"

U=http://127.0.0.1:18002
req "$U/missing/"
req "$U/denied/"
req "$U/busy/"
req "$U/stale/"
req "$U/uwsgi-timeout/"
req "$U/index.php"
req "$U/unknown.php"
req "$U/fatal.php"
req "$U/premature.php"

req http://127.0.0.1:18005/refused/
req http://127.0.0.1:18005/reset/
req http://127.0.0.1:18005/premature/

if [[ $HAVE_RSYSLOG == 1 ]]; then
  req http://127.0.0.1:18003/refused/
  req http://127.0.0.1:18003/reset/
  req http://127.0.0.1:18003/timeout/
fi

for port in 18060 18061 18062 18063; do
  curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/" || true
  echo "stream $port" >>"$STATUSES"
done

sleep 0.5
kill -QUIT "$NGINX"
wait "$NGINX" || true

# A config whose upstream host does not resolve: what `nginx -t` (and a failed reload) print.
cat >"$T/conf/bad.conf" <<EOF
pid $T/run/bad.pid;
error_log $T/logs/bad.log info;
events {}
http {
  upstream app { server app:8080; }
  server { listen 127.0.0.1:18009; location / { proxy_pass http://app; } }
}
EOF
# With -e the early log is a file, so nginx also prints the `nginx: [emerg] ...` form on stderr.
nginx -t -p "$T" -c "$T/conf/bad.conf" -e "$T/logs/bad-early.log" 2>"$T/logs/nginx-t-bad.out" || true

if [[ $HAVE_RSYSLOG == 1 ]]; then
  logger -u "$T/run/log.sock" -t nginx --id="$NGINX" <"$T/logs/http.log"
  sleep 1
fi

# --- copy out ------------------------------------------------------------------------------------------
mkdir -p "$OUT" "$(dirname "$ACCESS_OUT")"
cp "$T/logs/http.log" "$OUT/captured-1.22-http.txt"
cp "$T/logs/ipv6.log" "$OUT/captured-1.22-ipv6.txt"
cp "$T/logs/unix.log" "$OUT/captured-1.22-unix.txt"
cp "$T/logs/stream.log" "$OUT/captured-1.22-stream.txt"
cat "$T/logs/main.log" "$T/logs/bad-early.log" >"$OUT/captured-1.22-startup.txt"
cp "$T/logs/nginx-t-bad.out" "$OUT/nginx-t-stderr.txt"
cp "$T/logs/docker.log" "$OUT/docker-timestamps.txt"
if [[ $HAVE_RSYSLOG == 1 ]]; then
  cp "$T/logs/syslog-traditional.log" "$OUT/syslog-rsyslog-traditional.txt"
  cp "$T/logs/syslog-rfc3339.log" "$OUT/syslog-rsyslog-rfc3339.txt"
  cp "$T/logs/syslog-wire.log" "$OUT/syslog-wire.txt"
fi
cp "$T/logs/access.log" "$ACCESS_OUT"
cp "$STATUSES" "$OUT/statuses.txt"

# Compose-style prefixes. docker compose is not available here: the prefixes are the real ones quoted in
# shared/reference/nginx-502-signatures.md section 9 (the last one with its ANSI remnant, as quoted, and
# one with the escape sequences compose prints on a terminal), put in front of lines captured above.
PREFIXES=("strava-app-1  | " "nginx-mailcow_1      | " "portal    | " "nginx.1    | " "hydra2               |[0m " \
  $'\e[36mnginx-1  |\e[0m ')
: >"$OUT/compose-prefixed.txt"
i=0
grep -E '\[(error|crit|warn)\]' "$OUT/captured-1.22-http.txt" | head -n 12 | while IFS= read -r line; do
  printf '%s%s\n' "${PREFIXES[$((i % ${#PREFIXES[@]}))]}" "$line" >>"$OUT/compose-prefixed.txt"
  i=$((i + 1))
done

# Malformed input made from the real lines above: cut at several points, cut by a pager (`$`), bytes that
# are not text, a line of another log, and the reference's machine-translated corruption (section 9).
{
  first=$(grep -m1 'connect() failed (111' "$OUT/captured-1.22-http.txt")
  for n in 7 16 29 44 70 150 260; do printf '%s\n' "${first:0:$n}"; done
  printf '%s$\n' "${first:0:80}"
  printf '\x00\x01\x02\xff\xfe\x7fELF\x02\x01\x01\n'
  printf '\xc3\x28\xa0\xa1 [error] \xe2\x82\n'
  printf '\n   \n'
  head -n 1 "$ACCESS_OUT"
  printf '%s\n' '1706 # 1706: * 795218 connect () to unix: /run/...'
  grep -m1 'no live upstreams' "$OUT/captured-1.22-http.txt"
} >"$OUT/malformed.txt"
echo "captured into $OUT"

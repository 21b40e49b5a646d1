#!/usr/bin/env bash
# Captures real nginx access-log lines in several log_format variants for
# src/evidence/__fixtures__/nginx-access/. One real nginx (127.0.0.1:18210, TZ=Asia/Kolkata so that
# $time_local carries a non-zero zone) proxies to a tiny Python backend (127.0.0.1:18201: 200, 404 on
# /missing, 1.5 s on /slow) and to ports where nothing listens (18203-18206). Every request is logged once
# per format, so each fixture holds the same requests. Each fixture NAME.txt gets NAME.format beside it:
# the log_format string with its quoted parts joined, as the parser receives it in ctx.options.format.
# Usage: bash scripts/capture/nginx-access-formats.sh [OUT_DIR]
set -euo pipefail

OUT="${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/evidence/__fixtures__/nginx-access}"
D=/tmp/why502-access
NGINX_PID=""
BACKEND_PID=""
cleanup() {
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  [ -n "$BACKEND_PID" ] && kill "$BACKEND_PID" 2>/dev/null && wait "$BACKEND_PID" 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT
rm -rf "$D"
mkdir -p "$D/logs" "$OUT"

for port in 18201 18203 18204 18205 18206 18207 18210; do
  if ss -ltn "sport = :$port" | grep -q LISTEN; then
    echo "port $port is in use" >&2
    exit 1
  fi
done

cat >"$D/backend.py" <<'EOF'
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, body):
        if self.path.startswith("/slow"):
            time.sleep(1.5)
        code = 404 if self.path.startswith("/missing") else 200
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
    def do_GET(self):
        self.answer("hello from backend\n")
    def do_HEAD(self):
        self.answer("hello from backend\n")
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        self.answer("posted %d bytes\n" % n)
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF

# The formats, as written in nginx.conf (several quoted strings) and, joined, in NAME.format.
declare -A FORMATS
FORMATS[combined]='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
FORMATS[main]='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for"'
# As published on the NGINX blog (note: no space before rt=).
FORMATS[upstream_time]='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time"'
FORMATS[main_ext]='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" urt="$upstream_response_time" ua="$upstream_addr" us="$upstream_status"'
FORMATS[json]='escape=json {"time_local":"$time_local","remote_addr":"$remote_addr","remote_user":"$remote_user","request":"$request","status":$status,"body_bytes_sent":$body_bytes_sent,"request_time":$request_time,"http_referrer":"$http_referer","http_user_agent":"$http_user_agent","upstream_addr":"$upstream_addr","upstream_status":"$upstream_status","upstream_response_time":"$upstream_response_time"}'
FORMATS[iso_msec]='$time_iso8601 $msec $remote_addr "$request" $status $body_bytes_sent $request_time $upstream_addr $upstream_status $upstream_response_time $connection $connection_requests $pipe "$host" ${request_id}'

cat >"$D/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $D/logs/nginx.pid;
error_log $D/logs/error.log info;

events {
    worker_connections 64;
}

http {
    # combined is built in.
    log_format main '\$remote_addr - \$remote_user [\$time_local] "\$request" '
                    '\$status \$body_bytes_sent "\$http_referer" '
                    '"\$http_user_agent" "\$http_x_forwarded_for"';

    log_format upstream_time '\$remote_addr - \$remote_user [\$time_local] '
                             '"\$request" \$status \$body_bytes_sent '
                             '"\$http_referer" "\$http_user_agent"'
                             'rt=\$request_time uct="\$upstream_connect_time" uht="\$upstream_header_time" urt="\$upstream_response_time"';

    log_format main_ext '\$remote_addr - \$remote_user [\$time_local] "\$request" '
                        '\$status \$body_bytes_sent "\$http_referer" '
                        '"\$http_user_agent" "\$http_x_forwarded_for" '
                        'rt=\$request_time uct="\$upstream_connect_time" uht="\$upstream_header_time" '
                        'urt="\$upstream_response_time" ua="\$upstream_addr" us="\$upstream_status"';

    log_format json escape=json '{"time_local":"\$time_local",'
                                '"remote_addr":"\$remote_addr",'
                                '"remote_user":"\$remote_user",'
                                '"request":"\$request",'
                                '"status":\$status,'
                                '"body_bytes_sent":\$body_bytes_sent,'
                                '"request_time":\$request_time,'
                                '"http_referrer":"\$http_referer",'
                                '"http_user_agent":"\$http_user_agent",'
                                '"upstream_addr":"\$upstream_addr",'
                                '"upstream_status":"\$upstream_status",'
                                '"upstream_response_time":"\$upstream_response_time"}';

    log_format iso_msec '\$time_iso8601 \$msec \$remote_addr "\$request" \$status \$body_bytes_sent '
                        '\$request_time \$upstream_addr \$upstream_status \$upstream_response_time '
                        '\$connection \$connection_requests \$pipe "\$host" \${request_id}';

    access_log $D/logs/combined.log;
    access_log $D/logs/main.log main;
    access_log $D/logs/upstream_time.log upstream_time;
    access_log $D/logs/main_ext.log main_ext;
    access_log $D/logs/json.log json;
    access_log $D/logs/iso_msec.log iso_msec;

    proxy_read_timeout 1s;
    proxy_connect_timeout 1s;

    upstream ok_pool {
        server 127.0.0.1:18201;
    }
    upstream app_pool {
        server 127.0.0.1:18203;
        server 127.0.0.1:18204;
    }
    upstream mixed_pool {
        server 127.0.0.1:18205;
        server 127.0.0.1:18201;
    }
    upstream dead_pool {
        server 127.0.0.1:18206;
    }

    server {
        listen 127.0.0.1:18210;
        server_name gw.example.test;

        location / {
            proxy_pass http://ok_pool;
        }
        location /refused {
            proxy_pass http://127.0.0.1:18206;
        }
        location /pool/ {
            proxy_pass http://app_pool;
        }
        location /mixed/ {
            proxy_pass http://mixed_pool;
        }
        location /redir/ {
            proxy_pass http://dead_pool;
            error_page 502 = @fallback;
        }
        location @fallback {
            proxy_pass http://ok_pool;
        }
        location /resolve/ {
            resolver 127.0.0.1:18207;
            resolver_timeout 1s;
            set \$target "app.internal.test";
            proxy_pass http://\$target:18201;
        }
    }
}
EOF

# The configuration itself, as nginx reads it: tests check each NAME.format against its log_format here.
nginx -T -p "$D" -c "$D/nginx.conf" >"$OUT/nginx-T.txt"

python3 "$D/backend.py" 18201 2>"$D/backend.err" &
BACKEND_PID=$!
TZ=Asia/Kolkata nginx -p "$D" -c "$D/nginx.conf" &
NGINX_PID=$!

for _ in $(seq 50); do
  if curl -s -o /dev/null http://127.0.0.1:18201/ && curl -s -o /dev/null http://127.0.0.1:18210/; then break; fi
  sleep 0.1
done

G=http://127.0.0.1:18210
UA='Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
# Each request is sent once; the output bodies are discarded.
c() { curl -s -o /dev/null "$@" || true; }
c -A "$UA" -e "http://gw.example.test/start" -H "X-Forwarded-For: 203.0.113.7, 10.0.0.2" "$G/"
c -A "$UA" "$G/missing/page?id=7&token=abc"
c -A "$UA" "$G/slow"
c -A "$UA" "$G/refused/api?x=1"
c -A "$UA" "$G/pool/first"
c -A "$UA" "$G/pool/second"
c -A "$UA" "$G/mixed/one"
c -A "$UA" "$G/redir/x"
c -A "$UA" "$G/resolve/"
c -I "$G/"
c -u alice:secret -d 'a=1&b=2' "$G/form"
c -A 'agent with "quotes" and \backslash ü' "$G/quoted"
c --max-time 0.3 "$G/slow"
c --http1.0 -H "Host:" "$G/old"
c -k "https://127.0.0.1:18210/"
python3 - <<'EOF'
import socket
s = socket.create_connection(("127.0.0.1", 18210))
s.sendall(b"garbage\r\n\r\n")
s.recv(4096)
s.close()
EOF
# A keepalive connection carrying two requests ($connection_requests 1 and 2).
c "$G/keep/1" -: -s -o /dev/null "$G/keep/2"

kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null || true
NGINX_PID=""

for name in "${!FORMATS[@]}"; do
  cp "$D/logs/$name.log" "$OUT/$name.txt"
  printf '%s' "${FORMATS[$name]}" >"$OUT/$name.format"
done
echo "written to $OUT"

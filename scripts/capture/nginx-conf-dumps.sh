#!/usr/bin/env bash
# Captures real `nginx -T` dumps for src/evidence/__fixtures__/nginx-conf/.
# Each config is written under /tmp/why502-conf/<variant>/ and dumped with `nginx -T -p DIR -c CONF`.
# nginx is never started: -T only parses, tests and prints the configuration.
# Usage: bash scripts/capture/nginx-conf-dumps.sh [OUT_DIR]
set -euo pipefail

OUT="${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/evidence/__fixtures__/nginx-conf}"
BASE=/tmp/why502-conf
rm -rf "$BASE"
mkdir -p "$OUT" "$BASE"
trap 'rm -rf "$BASE"' EXIT

# Debian's stock configuration, as installed (stdout only; stderr carries the "syntax is ok" lines).
nginx -T >"$OUT/debian-stock.txt"

prefix() {
  local d="$BASE/$1"
  mkdir -p "$d/logs" "$d/conf.d" "$d/snippets"
  echo "$d"
}

# 1. An upstream group of several servers with max_fails/fail_timeout/backup/down/keepalive, timeouts set at
#    http, server and location level, nested locations. Dumped with 2>&1 so nginx's stderr lines are mixed in.
D=$(prefix upstream-group)
cat >"$D/nginx.conf" <<EOF
worker_processes 1;
pid $D/logs/nginx.pid;
error_log $D/logs/error.log warn;

events {
    worker_connections 64;
}

http {
    access_log $D/logs/access.log;
    proxy_read_timeout 75s;
    proxy_buffer_size 8k;

    upstream app_pool {
        zone app_pool 64k;
        least_conn;
        server 127.0.0.1:18301 max_fails=3 fail_timeout=30s;
        server 127.0.0.1:18302 weight=2 max_conns=100;
        server localhost:18303 backup;
        server 127.0.0.1:18304 down;
        keepalive 16;
        keepalive_timeout 30s;
    }

    upstream api {
        server 127.0.0.1:18305;
    }

    server {
        listen 127.0.0.1:18300;
        server_name app.example.test www.app.example.test;
        proxy_connect_timeout 5s;

        location / {
            proxy_pass http://app_pool;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }

        location /api/ {
            proxy_pass http://api/v1/;
            proxy_read_timeout 1m30s;
            proxy_next_upstream error timeout http_502;

            location /api/slow/ {
                proxy_pass http://api;
                proxy_buffer_size 16k;
                proxy_buffers 8 16k;
            }
        }

        location = /direct {
            proxy_pass http://127.0.0.1:18306;
            proxy_send_timeout 500ms;
        }
    }
}
EOF
nginx -T -p "$D" -c "$D/nginx.conf" >"$OUT/upstream-group.txt" 2>&1

# 2. php-fpm: fastcgi_pass to a unix socket, directly and through an upstream{}; snippets included by
#    relative path; fastcgi buffer and timeout overrides.
D=$(prefix php-fpm)
cp /etc/nginx/fastcgi.conf "$D/fastcgi.conf"
cp /etc/nginx/snippets/fastcgi-php.conf "$D/snippets/fastcgi-php.conf"
cat >"$D/nginx.conf" <<EOF
worker_processes 1;
pid $D/logs/nginx.pid;
error_log $D/logs/error.log;

events {
    worker_connections 64;
}

http {
    access_log $D/logs/access.log combined;
    fastcgi_buffers 16 16k;
    fastcgi_buffer_size 32k;

    upstream php {
        server unix:/run/php/php8.2-fpm.sock max_fails=0;
        server 127.0.0.1:18310 backup;
    }

    server {
        listen 127.0.0.1:18311 default_server;
        server_name _;
        root /var/www/html;
        index index.php;

        location / {
            try_files \$uri \$uri/ /index.php?\$query_string;
        }

        location ~ \.php$ {
            include snippets/fastcgi-php.conf;
            fastcgi_pass unix:/run/php/php8.2-fpm.sock;
            fastcgi_read_timeout 300;
        }

        location ^~ /admin/ {
            location ~ \.php$ {
                include snippets/fastcgi-php.conf;
                fastcgi_pass php;
                fastcgi_buffer_size 64k;
            }
        }
    }
}
EOF
nginx -T -p "$D" -c "$D/nginx.conf" >"$OUT/php-fpm.txt"

# 3. uwsgi_pass and grpc_pass (plain and TLS), plus a stream{} TCP proxy to an upstream group.
D=$(prefix uwsgi-grpc)
cp /etc/nginx/uwsgi_params "$D/uwsgi_params"
cat >"$D/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
pid $D/logs/nginx.pid;
error_log $D/logs/error.log notice;

events {
    worker_connections 64;
}

http {
    access_log $D/logs/access.log;
    upstream grpc_backend {
        server 127.0.0.1:18321;
        server 127.0.0.1:18322;
        keepalive 8;
    }

    server {
        listen 127.0.0.1:18320;
        location / {
            include uwsgi_params;
            uwsgi_pass unix:/run/uwsgi/app.sock;
            uwsgi_read_timeout 120s;
        }
        location /legacy/ {
            include uwsgi_params;
            uwsgi_pass 127.0.0.1:18323;
        }
    }

    server {
        listen 127.0.0.1:18324 http2;
        location /helloworld.Greeter/ {
            grpc_pass grpc://grpc_backend;
            grpc_read_timeout 1h;
        }
        location /secure.Service/ {
            grpc_pass grpcs://127.0.0.1:18325;
        }
    }
}

stream {
    upstream db {
        server 127.0.0.1:18326 max_fails=2 fail_timeout=5s;
        server 127.0.0.1:18327 backup;
    }
    server {
        listen 127.0.0.1:18328;
        proxy_pass db;
        proxy_connect_timeout 2s;
    }
}
EOF
nginx -T -p "$D" -c "$D/nginx.conf" >"$OUT/uwsgi-grpc.txt"

# 4. Custom log_format main_ext (several quoted strings), a JSON format with escape=json, several access_log
#    lines at different levels, error_log levels, includes of several files by glob and by relative path.
D=$(prefix main-ext-includes)
cat >"$D/nginx.conf" <<EOF
worker_processes 1;
pid $D/logs/nginx.pid;
error_log $D/logs/error.log;

events {
    worker_connections 64;
}

http {
    include log-formats.conf;
    access_log $D/logs/access.log main_ext;
    error_log $D/logs/http-error.log info;

    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      close;
    }

    include conf.d/*.conf;
}
EOF
cat >"$D/log-formats.conf" <<'EOF'
log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                '$status $body_bytes_sent "$http_referer" '
                '"$http_user_agent" "$http_x_forwarded_for"';

log_format main_ext '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for" '
                    'rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time" '
                    'urt="$upstream_response_time" ua="$upstream_addr" us="$upstream_status"';

log_format json_combined escape=json
  '{'
    '"time_local":"$time_local",'
    '"remote_addr":"$remote_addr",'
    '"request":"$request",'
    '"status": "$status",'
    '"upstream_addr":"$upstream_addr"'
  '}';
EOF
cat >"$D/conf.d/10-upstreams.conf" <<'EOF'
upstream shop {
    server 127.0.0.1:18341;
    server 127.0.0.1:18342;
}
EOF
cat >"$D/conf.d/20-shop.conf" <<EOF
server {
    listen 127.0.0.1:18340;
    server_name shop.example.test;
    access_log $D/logs/shop.access.log main_ext buffer=32k flush=5s;
    access_log $D/logs/shop.json.log json_combined;
    error_log $D/logs/shop.error.log warn;

    location / {
        proxy_pass http://shop;
        proxy_set_header Upgrade \$http_upgrade;
        proxy_set_header Connection \$connection_upgrade;
        if (\$request_method = POST) {
            access_log $D/logs/shop.post.log main;
        }
    }

    location /health {
        access_log off;
        return 200 "ok\n";
    }
}
EOF
cat >"$D/conf.d/30-static.conf" <<EOF
map \$status \$loggable {
    ~^[23]  0;
    default 1;
}

server {
    listen 127.0.0.1:18343;
    access_log $D/logs/static.log main if=\$loggable;
    location / {
        root /var/www/html;
    }
}
EOF
nginx -T -p "$D" -c "$D/nginx.conf" >"$OUT/main-ext-includes.txt"

# 5. Runtime DNS: resolver plus proxy_pass to a variable; a hostname upstream resolved at load time.
D=$(prefix resolver-variable)
cat >"$D/nginx.conf" <<EOF
worker_processes 1;
pid $D/logs/nginx.pid;
error_log $D/logs/error.log;

events {
    worker_connections 64;
}

http {
    resolver 127.0.0.53 [::1]:5353 valid=30s ipv6=off;
    resolver_timeout 5s;
    access_log $D/logs/access.log;

    upstream static_dns {
        server localhost:18351;
    }

    server {
        listen 127.0.0.1:18350;
        set \$backend "app.service.consul:18352";

        location / {
            proxy_pass http://\$backend;
        }

        location /static/ {
            proxy_pass http://static_dns;
        }

        location /other/ {
            resolver 127.0.0.1:18353;
            proxy_pass http://\$backend\$request_uri;
        }
    }
}
EOF
nginx -T -p "$D" -c "$D/nginx.conf" >"$OUT/resolver-variable.txt"

# 6. Syntax corners nginx accepts: quotes and escapes, ${var}, comments after directives, a directive over
#    several lines, glued location modifiers, if/limit_except/map blocks, braces and ; inside quotes.
D=$(prefix syntax-edge)
cat >"$D/nginx.conf" <<'EOF'
pid /tmp/why502-conf/syntax-edge/logs/nginx.pid;
error_log /tmp/why502-conf/syntax-edge/logs/error.log;
events { worker_connections 64; }   # one-line block
http {
	access_log /tmp/why502-conf/syntax-edge/logs/access.log;
	map $uri $legacy {
		'~^/old{2}'  1;   # braces inside quotes
		default      0;
	}
	upstream "quoted_pool" { server 127.0.0.1:18370 weight=5; server 127.0.0.1:18371; }
	server {
		listen 127.0.0.1:18372; server_name "edge.example.test" 'single.example.test';
		set $pool quoted_pool;
		location =/exact { return 200 "a;b{c}\"d\""; }
		location ~*\.(png|jpg)$ { proxy_pass http://quoted_pool; }
		location ^~/static/ {
			proxy_pass
				http://127.0.0.1:18373;   # pass on its own line
			proxy_read_timeout
				2m;
		}
		location /var/ {
			proxy_pass http://${pool}/;
			if ($http_x_debug) {
				proxy_pass http://127.0.0.1:18374;
			}
			limit_except GET {
				deny all;
			}
		}
		location @fallback {
			proxy_pass http://127.0.0.1:18375;
		}
	}
}
EOF
nginx -T -p "$D" -c "$D/nginx.conf" >"$OUT/syntax-edge.txt"

# 7. A config that fails the test (stderr only, no dump): what a bundle holds after a broken reload.
D=$(prefix test-failed)
cat >"$D/nginx.conf" <<EOF
pid $D/logs/nginx.pid;
error_log $D/logs/error.log;
events {
    worker_connections 64;
}
http {
    server {
        listen 127.0.0.1:18360;
        location / {
            proxy_pass http://127.0.0.1:18361;
            proxy_buffer_size 16k;
        }
    }
}
EOF
nginx -T -p "$D" -c "$D/nginx.conf" >"$OUT/test-failed.txt" 2>&1 || true

echo "written to $OUT"

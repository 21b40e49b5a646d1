#!/usr/bin/env python3
"""A FastCGI responder that answers the way php-fpm does in its failure cases.

usage: fastcgi-upstream.py MODE unix:/path/to.sock

modes:
  unknown    stderr "Primary script unknown", then `Status: 404` (php-fpm with a wrong SCRIPT_FILENAME)
  fatal      a multi-line PHP fatal error on stderr, then `Status: 500`
  premature  end stdout before any header (a script that printed nothing), then FCGI_END_REQUEST
"""

import os
import socket
import struct
import sys
import threading

STDIN, STDOUT, STDERR, END_REQUEST = 5, 6, 7, 3


def record(rtype, req_id, body):
    return struct.pack("!BBHHBB", 1, rtype, req_id, len(body), 0, 0) + body


def read_request(conn):
    req_id = 1
    buf = b""
    while True:
        while len(buf) < 8:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buf += chunk
        _, rtype, req_id, clen, plen, _ = struct.unpack("!BBHHBB", buf[:8])
        while len(buf) < 8 + clen + plen:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buf += chunk
        buf = buf[8 + clen + plen :]
        if rtype == STDIN and clen == 0:
            return req_id


def handle(mode, conn):
    try:
        req_id = read_request(conn)
        if req_id is None:
            return
        if mode == "unknown":
            out = record(STDERR, req_id, b"Primary script unknown")
            out += record(STDOUT, req_id, b"Status: 404 Not Found\r\nContent-type: text/html; charset=UTF-8\r\n\r\nFile not found.\n")
        elif mode == "fatal":
            msg = (
                b"PHP message: PHP Fatal error:  Uncaught Exception: boom in /var/www/html/index.php:3\n"
                b"Stack trace:\n#0 {main}\n  thrown in /var/www/html/index.php on line 3"
            )
            out = record(STDERR, req_id, msg)
            out += record(STDOUT, req_id, b"Status: 500 Internal Server Error\r\nContent-type: text/html; charset=UTF-8\r\n\r\n")
        else:
            out = b""
        out += record(STDOUT, req_id, b"")
        out += record(END_REQUEST, req_id, struct.pack("!IB3x", 0, 0))
        conn.sendall(out)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    mode, addr = sys.argv[1], sys.argv[2]
    path = addr[5:]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.listen(16)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(mode, conn), daemon=True).start()


if __name__ == "__main__":
    main()

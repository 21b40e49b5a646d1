#!/usr/bin/env python3
"""A misbehaving HTTP upstream for capturing real nginx error-log lines.

usage: tcp-upstream.py MODE ADDR [CERT KEY]
  ADDR is HOST:PORT, [V6]:PORT or unix:/path/to.sock
  CERT/KEY wrap every accepted connection in TLS (mode then applies after the handshake, except
  reset/close, which act on the raw socket before any TLS byte is answered).

modes:
  ok         answer 200 "ok"
  reset      read the request, then close with SO_LINGER 0 (the kernel sends RST)
  close      read the request, then close cleanly (FIN) without answering
  midbody    send headers with Content-Length 100000, 10 body bytes, then close
  hang       read the request and never answer
  bigheader  answer with a 16 kB header line
  badheader  answer with a header name holding a control byte
  garbage    answer with a non-HTTP banner
  drain      read 1 MB of the request body, then send FIN and RST while the client is still sending
  backlog    listen(0) and never accept; fill the queue so further connects fail or stall
"""

import socket
import ssl
import struct
import sys
import threading
import time


def read_head(conn):
    data = b""
    conn.settimeout(5)
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data


def rst_close(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def handle(mode, conn, tls_ctx):
    try:
        if mode == "reset":
            read_head(conn) if tls_ctx is None else conn.recv(4096)
            rst_close(conn)
            return
        if mode == "close":
            read_head(conn) if tls_ctx is None else conn.recv(4096)
            conn.close()
            return
        if mode == "drain":
            conn.settimeout(2)
            got = 0
            try:
                while got < 1 << 20:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    got += len(chunk)
            except OSError:
                pass
            conn.shutdown(socket.SHUT_WR)
            rst_close(conn)
            return
        if tls_ctx is not None:
            conn = tls_ctx.wrap_socket(conn, server_side=True)
        read_head(conn)
        if mode == "ok":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
        elif mode == "midbody":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n0123456789")
            time.sleep(0.2)
        elif mode == "hang":
            time.sleep(3600)
        elif mode == "bigheader":
            conn.sendall(b"HTTP/1.1 200 OK\r\nSet-Cookie: session=" + b"a" * 16000 + b"\r\nContent-Length: 0\r\n\r\n")
        elif mode == "badheader":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Bad\x01Name: y\r\nContent-Length: 0\r\n\r\n")
        elif mode == "garbage":
            conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
            time.sleep(0.2)
        conn.close()
    except OSError:
        pass


def listen(addr, backlog):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(addr[5:])
        s.listen(backlog)
        return s, socket.AF_UNIX, addr[5:]
    host, port = addr.rsplit(":", 1)
    family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    host = host.strip("[]")
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(backlog)
    return s, family, (host, int(port))


def fill_backlog(family, target):
    fillers = []
    for _ in range(8):
        c = socket.socket(family, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(target)
        except BlockingIOError:
            pass
        except OSError:
            c.close()
            break
        fillers.append(c)
        time.sleep(0.05)
    return fillers


def main():
    mode, addr = sys.argv[1], sys.argv[2]
    tls_ctx = None
    if len(sys.argv) > 4:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    if mode == "backlog":
        s, family, target = listen(addr, 0)
        keep = fill_backlog(family, target)
        print(f"backlog filled with {len(keep)} connections", flush=True)
        while True:
            time.sleep(3600)
    s, _, _ = listen(addr, 64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(mode, conn, tls_ctx), daemon=True).start()


if __name__ == "__main__":
    main()

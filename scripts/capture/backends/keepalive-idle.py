#!/usr/bin/env python3
"""An HTTP/1.1 keep-alive backend with a short idle timeout, for capturing a real keepalive race.

usage: keepalive-idle.py HOST PORT IDLE_MS EVENTS_LOG

One single-threaded event loop, ordered like libuv (Node.js) and most event-loop servers: when the loop
wakes, it first runs the idle timers that are due, then reads the sockets that are ready. A connection
idle for IDLE_MS since its last response is closed with close(): a FIN, or an RST when the kernel still
holds unread bytes for it. So when the next request on a kept-alive connection arrives in the same loop
tick in which that connection's idle timer fires (the timer is due, the loop wakes a little late, as
epoll's millisecond timeout makes it), the connection is closed under the request: the race nginx loses
when it reuses an upstream keepalive connection just as the backend gives up on it.

Every request is answered 200 with a small body. Each accept, answer and idle close is written to
EVENTS_LOG with a monotonic timestamp and the bytes left unread at close, so a run can be checked.
"""

import os
import selectors
import socket
import sys
import time

HOST, PORT, IDLE, EVENTS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) / 1000, sys.argv[4]

sel = selectors.DefaultSelector()
conns = {}
log = open(EVENTS, "a", buffering=1)
t0 = time.monotonic()


def event(text):
    log.write(f"{time.monotonic() - t0:10.6f} pid={os.getpid()} {text}\n")


class Conn:
    def __init__(self, sock, n):
        self.sock = sock
        self.n = n
        self.buf = b""
        self.deadline = None
        self.served = 0


def close(c, why):
    try:
        unread = len(c.sock.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:
        unread = 0
    event(f"conn {c.n}: {why} after {c.served} requests, {unread + len(c.buf)} request bytes unread")
    sel.unregister(c.sock)
    c.sock.close()
    del conns[c.sock]


def serve(c):
    while b"\r\n\r\n" in c.buf:
        head, _, rest = c.buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if len(rest) < length:
            return
        c.buf = rest[length:]
        c.served += 1
        body = b"ok\n"
        c.sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
            b"Connection: keep-alive\r\n\r\n%s" % (len(body), body)
        )
        c.deadline = time.monotonic() + IDLE
        event(f"conn {c.n}: answered request {c.served} ({head.split(b' ')[0].decode()})")


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((HOST, PORT))
listener.listen(64)
listener.setblocking(False)
sel.register(listener, selectors.EVENT_READ)
event(f"listening on {HOST}:{PORT}, idle timeout {IDLE * 1000:.0f} ms")
accepted = 0

while True:
    deadlines = [c.deadline for c in conns.values() if c.deadline is not None]
    timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
    ready = sel.select(timeout)
    now = time.monotonic()
    for c in [c for c in conns.values() if c.deadline is not None and c.deadline <= now]:
        close(c, f"idle {(now - c.deadline + IDLE) * 1000:.3f} ms, closing")
    for key, _ in ready:
        sock = key.fileobj
        if sock is listener:
            s, _ = listener.accept()
            s.setblocking(False)
            accepted += 1
            conns[s] = Conn(s, accepted)
            sel.register(s, selectors.EVENT_READ)
            event(f"conn {accepted}: accepted")
            continue
        c = conns.get(sock)
        if c is None:
            continue
        try:
            data = sock.recv(65536)
        except OSError as e:
            close(c, f"recv error {e.errno}")
            continue
        if not data:
            close(c, "peer closed")
            continue
        c.buf += data
        c.deadline = None
        serve(c)

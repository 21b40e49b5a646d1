#!/usr/bin/env python3
"""Paced client that makes nginx reuse an upstream keepalive connection as the backend's idle timer fires.

usage: keepalive-client.py HOST PORT IDLE_MS MAX_REQUESTS MAX_FAILURES MAX_SECONDS RESULTS

Sends requests one at a time on one client connection to nginx (so nginx keeps reusing the same cached
upstream connection), waiting after each answer a gap that sweeps from IDLE_MS - 20 ms to IDLE_MS + 0.4 ms in
0.2 ms steps: most requests land before or after the backend's idle close, a few in the same instant.
GETs and POSTs alternate. Stops after MAX_REQUESTS, MAX_FAILURES 502s or MAX_SECONDS, whichever is first.
Each request's method, path, gap, status and client-side duration go to RESULTS.
"""

import http.client
import sys
import time

HOST, PORT = sys.argv[1], int(sys.argv[2])
IDLE = int(sys.argv[3]) / 1000
MAX_REQUESTS, MAX_FAILURES, MAX_SECONDS = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
OFFSETS = [(-100 + i) / 5000 for i in range(103)]

out = open(sys.argv[7], "w", buffering=1)
conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
start = time.monotonic()
failures = 0
sent = 0
for i in range(MAX_REQUESTS):
    if failures >= MAX_FAILURES or time.monotonic() - start > MAX_SECONDS:
        break
    gap = IDLE + OFFSETS[i % len(OFFSETS)] if i else 0.0
    time.sleep(gap)
    method = "POST" if i % 2 else "GET"
    path = f"/api/orders/{1000 + i}" if method == "GET" else "/api/orders"
    body = f'{{"sku":"A-{i}","qty":1}}' if method == "POST" else None
    headers = {"Content-Type": "application/json"} if body else {}
    t = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        status = resp.status
    except (OSError, http.client.HTTPException) as e:
        status = f"client-error:{type(e).__name__}"
        conn.close()
        conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
    took = time.monotonic() - t
    sent += 1
    if status == 502:
        failures += 1
    out.write(f"{i + 1} {method} {path} gap={gap * 1000:.1f}ms status={status} took={took * 1000:.3f}ms\n")
conn.close()
out.write(f"done: {sent} requests, {failures} failed with 502, {time.monotonic() - start:.1f} s\n")

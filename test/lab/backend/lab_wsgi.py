"""The lab's backend as a WSGI app, for gunicorn: `/checkout` answers at once, `/slow` sleeps longer than the
worker timeout the lab gives gunicorn (WHY502_LAB_HANDLER_MS, default 5000), so gunicorn kills the worker;
`/leak` fills memory until the kernel's OOM killer ends the worker (the lab runs it in a memory cgroup)."""

import json
import os
import time

HANDLER_SECONDS = int(os.environ.get("WHY502_LAB_HANDLER_MS", "5000")) / 1000


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/slow":
        time.sleep(HANDLER_SECONDS)
    elif environ.get("PATH_INFO") == "/leak":
        hold = []
        while True:
            hold.append(b"x" * (1 << 20))
    body = json.dumps({"ok": True, "pid": os.getpid()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]

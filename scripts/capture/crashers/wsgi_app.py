"""WSGI app for the gunicorn and uWSGI captures: `/slow` outlives the worker timeout (gunicorn WORKER TIMEOUT,
uWSGI HARAKIRI), `/kill9` makes the worker SIGKILL itself (what an OOM kill looks like to the master), `/leak`
fills memory until the kernel's OOM killer ends the worker (in a memory cgroup)."""

import os
import signal
import time


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/slow":
        time.sleep(30)
    elif path == "/kill9":
        os.kill(os.getpid(), signal.SIGKILL)
    elif path == "/leak":
        hold = []
        while True:
            hold.append(b"x" * (1 << 20))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]


application = app

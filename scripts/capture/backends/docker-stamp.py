#!/usr/bin/env python3
"""Stamp each line read from stdin with its arrival time, the way `docker logs --timestamps` prints
a container's stderr (RFC 3339, nanoseconds, UTC, one space), and write it to the file named in argv[1].
"""

import sys
import time


def main():
    with open(sys.argv[1], "a", buffering=1) as out:
        for line in sys.stdin:
            ns = time.time_ns()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000))
            out.write(f"{stamp}.{ns % 1_000_000_000:09d}Z {line}")


if __name__ == "__main__":
    main()

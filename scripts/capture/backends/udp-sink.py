#!/usr/bin/env python3
"""Write every UDP datagram received on HOST:PORT as one line of the file named in argv[3], unchanged
(nginx's `error_log syslog:server=...` output as it is on the wire, `<PRI>` included).

usage: udp-sink.py HOST PORT FILE
"""

import socket
import sys


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    with open(path, "ab", buffering=0) as out:
        while True:
            data, _ = s.recvfrom(65535)
            out.write(data.rstrip(b"\n") + b"\n")


if __name__ == "__main__":
    main()

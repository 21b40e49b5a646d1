#!/usr/bin/env python3
"""A DNS server on UDP that fails every query, for nginx's runtime `resolver`.

usage: dns-upstream.py RCODE|drop HOST PORT
  RCODE 3 answers NXDOMAIN (nginx: "Host not found"), 2 answers SERVFAIL ("Server failure");
  drop never answers (nginx: "Operation timed out").
"""

import socket
import sys


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    while True:
        query, peer = s.recvfrom(4096)
        if mode == "drop" or len(query) < 12:
            continue
        rcode = int(mode)
        flags = 0x8180 | rcode  # response, recursion desired + available
        header = query[:2] + flags.to_bytes(2, "big") + query[4:6] + b"\x00\x00\x00\x00\x00\x00"
        s.sendto(header + query[12:], peer)


if __name__ == "__main__":
    main()

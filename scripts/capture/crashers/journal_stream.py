"""Runs a command with stdout and stderr connected to a journald stdout stream, as systemd does for a unit with
StandardOutput=journal: journal_stream.py SOCKET IDENTIFIER COMMAND... (exits with the command's code)."""

import socket
import subprocess
import sys

path, identifier, *command = sys.argv[1:]
stream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
stream.connect(path)
# identifier, unit id, priority (6 = info), level prefix, forward to syslog, kmsg, console
stream.sendall(f"{identifier}\n\n6\n0\n0\n0\n0\n".encode())
stream.shutdown(socket.SHUT_RD)
sys.exit(subprocess.run(command, stdout=stream.fileno(), stderr=stream.fileno()).returncode)

"""Run inside a memory cgroup (64M): makes the OOM killer's invoker differ from its victim, with odd comms.

A `((resolved))` child holds ~40 MiB; once it says so, a `CPU 0/KVM` child grows until the cgroup is full.
The grower invokes the OOM killer, which picks the bigger `((resolved))`; the grower then finishes and
exits 0. Both children are awaited; their exit codes are printed.
"""

import subprocess
import sys

BIG = """
open('/proc/self/comm', 'w').write('((resolved))')
hold = bytearray(40 << 20)
for i in range(0, len(hold), 4096):
    hold[i] = 1
print('ready', flush=True)
import sys
sys.stdin.read()
"""

GROWER = """
open('/proc/self/comm', 'w').write('CPU 0/KVM')
chunks = []
for _ in range(30):
    chunks.append(bytearray(b'x' * (1 << 20)))
"""

big = subprocess.Popen([sys.executable, "-c", BIG], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
assert big.stdout is not None and big.stdin is not None
if big.stdout.readline().strip() != "ready":
    sys.exit("big child did not start")
grower = subprocess.run([sys.executable, "-c", GROWER])
# If the kernel chose the grower instead, this lets the big child exit.
big.stdin.close()
big_rc = big.wait()
print(f"((resolved)) exit {big_rc}, CPU 0/KVM exit {grower.returncode}")

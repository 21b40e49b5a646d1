#!/usr/bin/env bash
# Captures real kernel lines for the `kernel` parser fixtures: a memory-cgroup OOM kill of a python3 and of a
# node process (cgroup v1 memory controller, 64M limit) and a real user-space segfault, as printed by
# `dmesg` (raw uptime), `dmesg -T` (local wall time, also under a non-UTC TZ), `dmesg --time-format iso`, and
# `journalctl -k` in several output modes. There is no systemd PID 1 here, so a private journald namespace
# (`systemd-journald why502cap`, ReadKMsg=yes, volatile) is started for the capture and removed afterwards.
# Run as root from the repo root: scripts/capture/kernel-oom.sh [outdir]
set -euo pipefail

OUT=${1:-src/evidence/__fixtures__/kernel}
CG=/sys/fs/cgroup/memory/why502-cap-$$
START="why502 capture $$"
END="why502 capture end $$"
NS=why502cap
NS_CONF=/etc/systemd/journald@$NS.conf
MID=$(cat /etc/machine-id)
JOURNALD_PID=

cleanup() {
  if [ -d "$CG" ]; then
    # Anything still in the cgroup is ours; stop it by pid so rmdir can succeed.
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$CG/cgroup.procs"
    rmdir "$CG" 2>/dev/null || true
  fi
  if [ -n "$JOURNALD_PID" ]; then
    kill "$JOURNALD_PID" 2>/dev/null || true
    wait "$JOURNALD_PID" 2>/dev/null || true
  fi
  rm -rf -- "/run/log/journal/$MID.$NS" "/var/log/journal/$MID.$NS" "/run/systemd/journal.$NS" "$NS_CONF"
  rmdir /run/log/journal /run/log 2>/dev/null || true
}
trap cleanup EXIT

# Waits (bounded) until the private journal holds a kernel line containing $1.
journal_has() {
  for _ in $(seq 1 100); do
    if journalctl --namespace="$NS" -k -q -o cat 2>/dev/null | grep -qF "$1"; then return 0; fi
    sleep 0.1
  done
  echo "journald never showed: $1" >&2
  return 1
}

[ "$(id -u)" = 0 ] || { echo "needs root (cgroup, /dev/kmsg, journald)" >&2; exit 1; }
mkdir -p "$OUT"

printf '[Journal]\nStorage=volatile\nReadKMsg=yes\n' >"$NS_CONF"
/usr/lib/systemd/systemd-journald "$NS" >/dev/null 2>&1 &
JOURNALD_PID=$!

mkdir "$CG"
echo 64M >"$CG/memory.limit_in_bytes"

echo "$START" >/dev/kmsg
journal_has "$START"

# The child moves itself into the cgroup before exec, so every allocation is charged there.
# Each command runs in the foreground: the script awaits the child's exit.
set +e
sh -c 'echo $$ >"$1/cgroup.procs"; exec python3 -c "a = []
while True: a.append(bytearray(8 << 20))"' sh "$CG"
py_rc=$?
sh -c 'echo $$ >"$1/cgroup.procs"; exec node -e "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));"' sh "$CG"
node_rc=$?
sh -c 'echo $$ >"$1/cgroup.procs"; exec python3 "$2"' sh "$CG" "$(dirname "$0")/crashers/oom-invoker.py"
invoker_rc=$?
segv_trace=$(cat /proc/sys/debug/exception-trace)
python3 -c "import ctypes; ctypes.string_at(0)"
segv_rc=$?
python3 -c "open('/proc/self/comm', 'w').write('CPU 0/KVM'); import ctypes; ctypes.string_at(0)"
segv_kvm_rc=$?
# A jump to address 0: the ip lies in no mapping, so the kernel prints no ` in <object>[...]`.
python3 -c "import ctypes; ctypes.CFUNCTYPE(None)(0)()"
segv_null_call_rc=$?
# A non-canonical address: x86 reports a general protection fault (`traps: comm[pid] general protection ...`).
python3 -c "import ctypes; ctypes.string_at(0x4000000000000000)"
segv_gpf_rc=$?
set -e

echo "$END" >/dev/kmsg
journal_has "$END"

slice() { awk -v s="$START" -v e="$END" 'index($0, s) && !index($0, e) {on = 1} on {print} index($0, e) {exit}'; }
dmesg | slice >"$OUT/dmesg-raw-memcg-oom.txt"
dmesg -T | slice >"$OUT/dmesg-T-memcg-oom.txt"
TZ=America/New_York dmesg -T | slice >"$OUT/dmesg-T-new-york.txt"
dmesg --time-format iso | slice >"$OUT/dmesg-iso-memcg-oom.txt"
TZ=Asia/Kolkata dmesg --time-format iso | slice >"$OUT/dmesg-iso-kolkata.txt"
for mode in short short-precise short-iso short-iso-precise short-monotonic; do
  journalctl --namespace="$NS" -k -q -o "$mode" | slice >"$OUT/journalctl-k-$mode.txt"
done
TZ=Europe/Paris journalctl --namespace="$NS" -k -q -o short-iso-precise | slice >"$OUT/journalctl-k-iso-paris.txt"

{
  echo "uname: $(uname -r)"
  echo "captured: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "boot (from /proc/stat btime): $(date -u -d "@$(awk '/^btime/ {print $2}' /proc/stat)" +%Y-%m-%dT%H:%M:%SZ)"
  echo "python3 victim exit: $py_rc, node victim exit: $node_rc, oom-invoker.py exit: $invoker_rc"
  echo "segfault exits: python3 $segv_rc, CPU 0/KVM $segv_kvm_rc, null call $segv_null_call_rc, gpf $segv_gpf_rc"
  echo "debug.exception-trace: $segv_trace"
} >"$OUT/capture-info.txt"
cat "$OUT/capture-info.txt"

#!/usr/bin/env bash
# Captures the real output of the nginx-access-aggregate template (the host-side access-log counts) for
# src/evidence/__fixtures__/nginx-access-aggregate/:
# - NAME.txt: the template's script run on this machine (`sh -s`, as over SSH) against each real access-log
#   fixture in src/evidence/__fixtures__/nginx-access/ with its log_format;
# - lab-two-causes.*: with --lab (root), the lab's two-causes incident counted on its gateway over real SSH by
#   collectImpact (format from nginx -T), the gateway's access log beside it. The lab is shared: the run holds
#   /tmp/why502-lab.lock.
# Usage: bash scripts/capture/nginx-access-aggregate.sh [--lab] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ " $* " == *" --lab "* ]]; then
  exec flock /tmp/why502-lab.lock npx tsx scripts/capture/nginx-access-aggregate.ts "$@"
fi
exec npx tsx scripts/capture/nginx-access-aggregate.ts "$@"

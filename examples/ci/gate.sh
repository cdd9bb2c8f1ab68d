#!/usr/bin/env bash
# Waits for the shadowdiff verdict of one comparison and exits with its decision:
#   0 PASS (promote), 1 FAIL (do not promote), 2 still INCONCLUSIVE at the timeout,
#   3 error (bad arguments, or the verdict endpoint never answered).
#
# Usage: gate.sh COMPARISON [BASE_URL]
#   BASE_URL defaults to $SHADOWDIFF_URL, then to the in-cluster service.
#   SHADOWDIFF_GATE_TIMEOUT (default 30m) and SHADOWDIFF_GATE_INTERVAL (default 30s) tune polling.
set -euo pipefail

comparison="${1:?usage: gate.sh COMPARISON [BASE_URL]}"
base_url="${2:-${SHADOWDIFF_URL:-http://shadowdiff.shadowdiff:8080}}"
timeout="${SHADOWDIFF_GATE_TIMEOUT:-30m}"
interval="${SHADOWDIFF_GATE_INTERVAL:-30s}"

if command -v shadowdiff >/dev/null 2>&1; then
  shadowdiff=(shadowdiff)
else
  shadowdiff=(npx --yes shadowdiff)
fi

status=0
"${shadowdiff[@]}" gate \
  --url "${base_url%/}/v1/comparisons/${comparison}/verdict" \
  --timeout "$timeout" \
  --interval "$interval" || status=$?

case "$status" in
  0) echo "shadowdiff: ${comparison} PASS, promote" ;;
  1) echo "shadowdiff: ${comparison} FAIL, do not promote" >&2 ;;
  2) echo "shadowdiff: ${comparison} still INCONCLUSIVE after ${timeout}" >&2 ;;
  *) echo "shadowdiff: cannot decide ${comparison} (exit ${status})" >&2 ;;
esac
exit "$status"

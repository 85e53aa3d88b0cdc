#!/usr/bin/env bash
# Run every fuzz target of the module for a while on its committed corpus.
#   fuzz.sh [DURATION]   (default 3s per target)
set -euo pipefail
t=${1:-3s}
cd "$(dirname "$0")/.."
n=0
while IFS=: read -r file name; do
  dir=$(dirname "$file")
  echo "fuzz: ./$dir $name ($t)"
  for attempt in 1 2; do
    if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$t" "./$dir" >/tmp/voxgate-fuzz.log 2>&1; then break; fi
    # Go's fuzzer can stop with "context deadline exceeded" and no failing
    # input when its time runs out while a worker is busy (a loaded machine):
    # that is no finding, so try once more. Anything else fails the run.
    if [ "$attempt" = 1 ] && grep -q 'context deadline exceeded' /tmp/voxgate-fuzz.log && ! grep -q 'Failing input' /tmp/voxgate-fuzz.log; then
      echo "fuzz: ./$dir $name stopped on its deadline without a finding; again"
      continue
    fi
    cat /tmp/voxgate-fuzz.log
    exit 1
  done
  n=$((n + 1))
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)\(' . | sed -E 's#^\./##; s#:func (Fuzz[A-Za-z0-9_]+)\(#:\1#' | sort)
echo "fuzz: $n targets ran, none failed"

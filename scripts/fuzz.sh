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
  go test -run='^$' -fuzz="^${name}\$" -fuzztime="$t" "./$dir" >/tmp/voxgate-fuzz.log 2>&1 || { cat /tmp/voxgate-fuzz.log; exit 1; }
  n=$((n + 1))
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)\(' . | sed -E 's#^\./##; s#:func (Fuzz[A-Za-z0-9_]+)\(#:\1#' | sort)
echo "fuzz: $n targets ran, none failed"

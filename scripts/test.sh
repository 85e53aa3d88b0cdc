#!/usr/bin/env bash
# Everything make test runs: vet, staticcheck, every test with -race against
# SQLite and a throwaway PostgreSQL, and each fuzz target on its corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"

echo "== go vet"
go vet ./...
echo "== staticcheck"
staticcheck ./...

echo "== postgres (throwaway, loopback)"
pgdir=$(mktemp -d /tmp/voxgate-pg.XXXXXX)
cleanup() { scripts/pgtest.sh stop "$pgdir"; rm -rf "$pgdir"; }
trap cleanup EXIT
url=""
for _ in 1 2 3 4 5; do
  port=$(shuf -i 20000-60000 -n 1)
  if url=$(scripts/pgtest.sh start "$pgdir" "$port"); then break; fi
  scripts/pgtest.sh stop "$pgdir"; rm -rf "$pgdir"; mkdir -p "$pgdir"; url=""
done
[ -n "$url" ] || { echo "could not start PostgreSQL" >&2; exit 1; }
export VOXGATE_TEST_DATABASE_URL="$url" VOXGATE_TEST_REQUIRE_POSTGRES=1

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...

echo "== load smoke run (real time, so without -race)"
go test -count=1 -run '^TestLoadgen' ./cmd/voxgate

echo "== fuzz (each target on its committed corpus)"
scripts/fuzz.sh "${FUZZTIME:-3s}"

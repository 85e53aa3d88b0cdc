#!/usr/bin/env bash
# Regenerates the committed test speech: one 16 kHz mono WAV per line of
# sentences.txt, spoken by flite's slt voice (Debian package flite).
set -euo pipefail
cd "$(dirname "$0")"
n=0
while read -r line; do
  n=$((n + 1))
  flite -voice slt -t "$line" -o "$(printf '%02d' "$n").wav"
done < sentences.txt

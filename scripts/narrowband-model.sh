#!/usr/bin/env bash
# Builds the telephone (narrowband) adaptation of Debian's pocketsphinx en-us
# model into OUTDIR: synthetic speech (flite and espeak-ng voices saying
# testdata/speech/adapt/sentences.txt, none of them a test sentence) is
# degraded as a G.711 leg degrades it (the gateway's resampler and μ-law),
# then sphinxtrain's bw counts it against the model and map_adapt re-estimates
# the model from it (MAP). OUTDIR then holds a model directory as
# pocketsphinx-en-us lays it out (en-us/, en-us.lm.bin, cmudict-en-us.dict):
# the adapted parameters, and symlinks to the Debian files it leaves as they
# are. BENCHMARKS.md has what it does to the word error rate (MLLR was
# measured too, and not kept).
#
# Needs: pocketsphinx-en-us, sphinxtrain, sphinxbase-utils, flite, espeak-ng, sox, go.
# Usage: scripts/narrowband-model.sh OUTDIR [VOICES]
#   VOICES (default "flite:slt flite:kal16 flite:awb flite:rms espeak:en-us")
set -euo pipefail
out=${1:?usage: narrowband-model.sh OUTDIR [VOICES]}
voices=${2:-flite:slt flite:kal16 flite:awb flite:rms espeak:en-us}
root=$(cd "$(dirname "$0")/.." && pwd)
model=/usr/share/pocketsphinx/model/en-us
st=/usr/lib/sphinxtrain
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/wav" "$work/raw" "$work/mfc" "$work/hmm" "$work/acc" "$work/map"

# 1. Speech: every sentence in every voice, 16 kHz mono.
n=0
while read -r line; do
  n=$((n + 1))
  for v in $voices; do
    id="${v/:/_}_$(printf %03d $n)"
    case $v in
      flite:*) flite -voice "${v#flite:}" -t "$line" -o "$work/tmp.wav" ;;
      espeak:*) espeak-ng -v "${v#espeak:}" -s 150 -w "$work/tmp.wav" "$line" ;;
    esac
    sox -q "$work/tmp.wav" -r 16000 -c 1 -b 16 "$work/wav/$id.wav"
    echo "$id" >> "$work/fileids"
    echo "<s> $line </s> ($id)" >> "$work/transcription"
  done
done < "$root/testdata/speech/adapt/sentences.txt"

# 2. The telephone leg, then features as the model computes them.
(cd "$root" && go run ./speech/transcribe/pocketsphinx/nbtrain telephone "$work/raw" "$work"/wav/*.wav)
sphinx_fe -argfile "$model/en-us/feat.params" -samprate 16000 -c "$work/fileids" \
  -di "$work/raw" -do "$work/mfc" -ei raw -eo mfc -raw yes -input_endian little >/dev/null 2>"$work/fe.log"

# 3. Counts: sphinxtrain needs a text mdef and the mixture weights the
#    Debian model ships only as a sendump.
for f in means variances transition_matrices feat.params noisedict; do cp "$model/en-us/$f" "$work/hmm/"; done
pocketsphinx_mdef_convert -text "$model/en-us/mdef" "$work/hmm/mdef.txt" 2>/dev/null
(cd "$root" && go run ./speech/transcribe/pocketsphinx/nbtrain mixw "$model/en-us/sendump" "$work/hmm/mixture_weights")
"$st/bw" -hmmdir "$work/hmm" -moddeffn "$work/hmm/mdef.txt" -ts2cbfn .ptm. -feat 1s_c_d_dd \
  -svspec 0-12/13-25/26-38 -cmn current -agc none -dictfn "$model/cmudict-en-us.dict" \
  -ctlfn "$work/fileids" -lsnfn "$work/transcription" -cepdir "$work/mfc" -accumdir "$work/acc" >"$work/bw.log" 2>&1 \
  || { tail -20 "$work/bw.log"; exit 1; }

# 4. MAP re-estimation of the model.
mkdir -p "$out/en-us"
"$st/map_adapt" -moddeffn "$work/hmm/mdef.txt" -ts2cbfn .ptm. -meanfn "$work/hmm/means" -varfn "$work/hmm/variances" \
  -mixwfn "$work/hmm/mixture_weights" -tmatfn "$work/hmm/transition_matrices" -accumdir "$work/acc" \
  -mapmeanfn "$work/map/means" -mapvarfn "$work/map/variances" -mapmixwfn "$work/map/mixture_weights" \
  -maptmatfn "$work/map/transition_matrices" >"$work/map.log" 2>&1 || { tail -20 "$work/map.log"; exit 1; }
"$st/mk_s2sendump" -pocketsphinx yes -moddeffn "$work/hmm/mdef.txt" -mixwfn "$work/map/mixture_weights" \
  -sendumpfn "$out/en-us/sendump" >"$work/dump.log" 2>&1 || { tail -20 "$work/dump.log"; exit 1; }
cp "$work/map/means" "$work/map/variances" "$work/map/transition_matrices" "$out/en-us/"
ln -sf "$model/en-us/mdef" "$model/en-us/feat.params" "$model/en-us/noisedict" "$out/en-us/"
ln -sf "$model/en-us.lm.bin" "$model/cmudict-en-us.dict" "$out/"
echo "narrowband model in $out ($n sentences × $(wc -w <<<"$voices") voices)"

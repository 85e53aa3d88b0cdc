#!/usr/bin/env bash
# Records the RTP fixtures of testdata/rtp: for each codec, baresip calls a
# local voxgate (sip:<session id>@127.0.0.1), plays a sentence spoken by
# espeak-ng, then sends RFC 4733 digits; tcpdump captures what baresip sends
# on loopback. Needs: a built voxgate (VOXGATE, default bin/voxgate),
# baresip-core, espeak-ng, sox, tcpdump, curl, jq; root (or CAP_NET_RAW).
#
#   testdata/rtp/record.sh [codec…]     (codecs: pcmu pcma g722 opus)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
voxgate=${VOXGATE:-$here/../../bin/voxgate}
codecs=${*:-pcmu pcma g722 opus}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
  echo $((20000 + RANDOM % 10000)); }
http=$(port); sip=$((http + 1))
cat >"$work/voxgate.yaml" <<YAML
trunks:
  - {org: dev, name: fixtures, inbound_cidrs: [127.0.0.1/32]}
YAML
"$voxgate" serve --config "$work/voxgate.yaml" --dev-key --data-dir "$work/data" --http-addr 127.0.0.1:$http \
  --sip-addr 127.0.0.1:$sip --admin-addr "" --log-level warn >"$work/serve.out" 2>&1 &
for _ in $(seq 100); do grep -q "voxgate is up" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
key=$(grep -o 'sk_live_[A-Za-z0-9_]*' "$work/serve.out" | head -1)

# The speech: 8 kHz for the narrowband codecs, 16 kHz for G.722 and Opus.
text="This is a recorded call for the voxgate load generator. One, two, three, four, five. The quick brown fox jumps over the lazy dog."
espeak-ng -v en-us -s 160 -w "$work/speech.wav" "$text"

for codec in $codecs; do
  case $codec in
    pcmu) name=PCMU mod=g711.so rate=8000 ;;
    pcma) name=PCMA mod=g711.so rate=8000 ;;
    g722) name=G722 mod=g722.so rate=16000 ;;
    opus) name=opus mod=opus.so rate=48000 ;;
    *) echo "unknown codec $codec" >&2; exit 2 ;;
  esac
  dir="$work/$codec"; mkdir -p "$dir"
  sox "$work/speech.wav" -r $rate -c 1 -b 16 "$dir/speech.wav"
  bport=$(port)
  cat >"$dir/config" <<CFG
module_path		/usr/lib/baresip/modules
net_interface		127.0.0.1
sip_listen		127.0.0.1:$bport
rtp_ports		30100-30199
audio_source		aufile,$dir/speech.wav
audio_player		alsa,null
audio_alert		alsa,null
ausrc_srate		$rate
ausrc_channels		1
statmode_default	off
opus_bitrate		32000
opus_stereo		no
opus_sprop_stereo	no
module			$mod
module			aufile.so
module			alsa.so
module			stdio.so
module_tmp		account.so
module_app		menu.so
CFG
  echo "<sip:fixture@127.0.0.1:$bport>;regint=0;audio_codecs=$name" >"$dir/accounts"
  sid=$(curl -fsS -X POST "http://127.0.0.1:$http/v1/sessions" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -d '{"mode":"media_stream"}' | jq -r .id)
  tcpdump -i lo -U -s 0 -w "$here/$codec.pcap" "udp and src portrange 30100-30199" 2>"$dir/tcpdump.log" &
  dump=$!
  sleep 1
  # The sentence plays for about 7 s; the digits follow it.
  { sleep 8; echo "/sndcode 1234#"; sleep 3; echo "/quit"; } |
    baresip -f "$dir" -e "/dial sip:$sid@127.0.0.1:$sip" >"$dir/baresip.log" 2>&1 || true
  sleep 0.5
  kill -INT $dump; wait $dump || true
  echo "$codec: $(stat -c %s "$here/$codec.pcap") bytes"
done

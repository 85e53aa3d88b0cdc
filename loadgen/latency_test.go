package loadgen

import (
	"encoding/base64"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/transcode"
)

// event is something that happens at a moment of the made-up clock.
type event struct {
	at time.Time
	do func(time.Time)
}

// synthetic is a stand-in gateway on a made-up clock: it forwards each audio
// packet of the phone to the subscriber as the audio.output it numbers from
// the stream's first packet (an RFC 4733 packet's number becomes a concealed
// frame), and each audio.input of the subscriber to the phone as PCMU RTP,
// after exactly fwdDelay and retDelay. Its messages and packets are the
// gateway's wire formats, read back by the probe as in a real run.
type synthetic struct {
	p                  *probe
	fwdDelay, retDelay time.Duration
	events             []event
	firstSeq           int
	outSeq             uint16
	outTS              uint32
}

func (g *synthetic) schedule(at time.Time, do func(time.Time)) {
	g.events = append(g.events, event{at, do})
}

// phoneSends is the phone sending packet s at t.
func (g *synthetic) phoneSends(s Sent, t time.Time) {
	g.p.rtpSent(s, t)
	var pkt rtp.Packet
	if err := pkt.Unmarshal(s.Packet); err != nil {
		panic(err)
	}
	if g.firstSeq < 0 {
		g.firstSeq = int(pkt.SequenceNumber)
	}
	seq := int64(uint16(int(pkt.SequenceNumber) - g.firstSeq))
	payload := pkt.Payload
	if s.DTMF {
		payload = make([]byte, 160) // concealment
	}
	msg := fmt.Sprintf(`{"type":"audio.output","speaker":"customer","track":"original","sequence":%d,"timestamp_ms":%d,"audio":{"encoding":"mulaw","sample_rate_hz":8000,"payload":"%s"}}`,
		seq, seq*20, base64.StdEncoding.EncodeToString(payload))
	g.schedule(t.Add(g.fwdDelay), func(at time.Time) { g.p.audioOutput([]byte(msg), at) })
}

// subscriberSends is the subscriber sending audio.input frame n at t.
func (g *synthetic) subscriberSends(n int64, t time.Time) {
	msg := AppendAudioInput(nil, n)
	g.p.inputSent(n, t)
	pl, ok := stringField(msg, `"payload":"`)
	if !ok {
		panic("no payload in " + string(msg))
	}
	mu, err := base64.StdEncoding.DecodeString(string(pl))
	if err != nil {
		panic(err)
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: g.outSeq, Timestamp: g.outTS, SSRC: 7}, Payload: mu}
	g.outSeq++
	g.outTS += 160
	b, _ := pkt.Marshal()
	g.schedule(t.Add(g.retDelay), func(at time.Time) { g.p.rtpReceived(b, at) })
}

// run plays the clock until every event happened.
func (g *synthetic) run() {
	for len(g.events) > 0 {
		i := slices.IndexFunc(g.events, func(e event) bool {
			return !slices.ContainsFunc(g.events, func(o event) bool { return o.at.Before(e.at) })
		})
		e := g.events[i]
		g.events = slices.Delete(g.events, i, i+1)
		e.do(e.at)
	}
}

// The probe measures exactly the delays a gateway adds, both ways, and
// hears the fixture's speech; run on a made-up clock, so there is no
// scheduling noise in it.
func TestLatencyAgainstSyntheticGateway(t *testing.T) {
	fx, err := LoadFixture("../testdata/rtp/pcmu.pcap")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := referenceLevels(fx)
	if err != nil {
		t.Fatal(err)
	}
	for _, delays := range [][2]time.Duration{{3 * time.Millisecond, 17 * time.Millisecond}, {1234567 * time.Nanosecond, 150 * time.Millisecond}} {
		t.Run(fmt.Sprint(delays), func(t *testing.T) {
			p, err := newProbe(fx, ref, 40*time.Millisecond, time.Second, false)
			if err != nil {
				t.Fatal(err)
			}
			g := &synthetic{p: p, fwdDelay: delays[0], retDelay: delays[1], firstSeq: -1}
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			// Twelve seconds: a whole play of the fixture (its digits too)
			// and the start of the next.
			w := NewRewriter(fx, 1, 65000, 0)
			for s := w.Next(); s.At < 12*time.Second; s = w.Next() {
				s.Packet = append([]byte(nil), s.Packet...)
				g.schedule(start.Add(s.At), func(at time.Time) { g.phoneSends(s, at) })
			}
			for n := int64(0); n < 600; n++ {
				g.schedule(start.Add(time.Duration(n)*20*time.Millisecond+7*time.Millisecond), func(at time.Time) { g.subscriberSends(n, at) })
			}
			g.run()
			p.stop(start.Add(13 * time.Second))
			tl := p.harvest(start.Add(14*time.Second), true)
			fwd, ret := tl.fwd.Summarize(), tl.ret.Summarize()
			if fwd.P50 != delays[0] || fwd.Max != delays[0] || fwd.Count != tl.framesSent || tl.framesLost != 0 {
				t.Fatalf("forward: %+v; %d sent, %d lost; injected %v", fwd, tl.framesSent, tl.framesLost, delays[0])
			}
			if ret.P50 != delays[1] || ret.Max != delays[1] || ret.Count != 60 || tl.markersSent != 60 || tl.markersLost != 0 {
				t.Fatalf("return: %+v; %d sent, %d lost; injected %v", ret, tl.markersSent, tl.markersLost, delays[1])
			}
			if wantLate := map[bool]int{true: 60, false: 0}[delays[1] > 40*time.Millisecond]; tl.markersLate != wantLate || tl.framesLate != 0 {
				t.Fatalf("late: %d frames, %d markers", tl.framesLate, tl.markersLate)
			}
			events := 0
			for _, pk := range fx.Packets {
				if pk.DTMF {
					events++
				}
			}
			if tl.concealed < events || tl.voiced < 150 || tl.matched != tl.voiced || tl.rtpLost != 0 || tl.rtpReceived != 600 {
				t.Fatalf("concealed %d (events %d), speech %d of %d frames, rtp %d received %d lost", tl.concealed, events, tl.matched, tl.voiced, tl.rtpReceived, tl.rtpLost)
			}
		})
	}
}

func TestParseAudioOutput(t *testing.T) {
	for raw, want := range map[string]AudioOutput{
		`{"type":"audio.output","speaker":"customer","track":"original","sequence":42,"timestamp_ms":840,"audio":{"encoding":"mulaw","sample_rate_hz":8000,"payload":"//8="}}`: {"customer", 42, []byte("//8=")},
		`{"audio":{"payload":"AA=="},"sequence":7,"speaker":"agent","type":"audio.output"}`:                                                                                    {"agent", 7, []byte("AA==")},
	} {
		got, ok := ParseAudioOutput([]byte(raw))
		if !ok || got.Speaker != want.Speaker || got.Sequence != want.Sequence || string(got.Payload) != string(want.Payload) {
			t.Errorf("%s: %+v %v", raw, got, ok)
		}
	}
	for _, raw := range []string{
		`{"type":"mark","name":"x"}`,
		`{"type":"audio.output","speaker":"robot","sequence":1,"audio":{"payload":""}}`,
		`{"type":"audio.output","speaker":"agent","sequence":-1,"audio":{"payload":""}}`,
		`{"type":"audio.output","speaker":"agent","sequence":1,"audio":{"payload":"a\"b"}}`,
		`{"type":"audio.output","speaker":"agent"`,
	} {
		if m, ok := ParseAudioOutput([]byte(raw)); ok {
			t.Errorf("%s: read as %+v", raw, m)
		}
	}
	if !IsMarker(0) || IsMarker(1) || !IsMarker(MarkerEvery) {
		t.Fatal("markers")
	}
}

func FuzzParseAudioOutput(f *testing.F) {
	f.Add([]byte(`{"type":"audio.output","speaker":"customer","track":"original","sequence":42,"timestamp_ms":840,"audio":{"encoding":"mulaw","sample_rate_hz":8000,"payload":"//8="}}`))
	f.Add([]byte(`{"type":"audio.output","sequence":99999999999999999999999`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := ParseAudioOutput(b)
		if ok && m.Sequence < 0 {
			t.Fatalf("negative sequence %d", m.Sequence)
		}
		if ok {
			_, _, _ = decodeMulaw(m.Payload, nil, nil)
		}
	})
}

// In a bridge run the phone's replay carries markers among the fixture's
// speech and the probe times them where the WebRTC leg hears them: against
// a made-up gateway that delays the phone's audio by exactly delay and
// shifts it by a codec's delay within the frames (shift samples), every
// marker is heard, none is made up of speech, and each is timed at delay,
// or a frame later when the shift leaves no whole half-frame of it in the
// first (a frame's halves are the detector's windows).
func TestBridgeMarkersAgainstSyntheticGateway(t *testing.T) {
	fx, err := LoadFixture("../testdata/rtp/pcmu.pcap")
	if err != nil {
		t.Fatal(err)
	}
	fx = fx.WithoutEvents()
	ref, err := referenceLevels(fx)
	if err != nil {
		t.Fatal(err)
	}
	marker, err := markerPayload(fx.Format)
	if err != nil {
		t.Fatal(err)
	}
	const delay = 23 * time.Millisecond
	for _, tc := range []struct {
		shift int // samples at 8 kHz
		want  time.Duration
	}{{0, delay}, {52, delay}, {80, delay}, {120, delay + 20*time.Millisecond}, {150, delay + 20*time.Millisecond}} {
		t.Run(fmt.Sprint(tc.shift), func(t *testing.T) {
			p, err := newProbe(fx, ref, 40*time.Millisecond, time.Second, true)
			if err != nil {
				t.Fatal(err)
			}
			stream := make([]int16, tc.shift)
			dec, err := transcode.Chain(fx.Format, media.PCM16(8000), media.WriterFunc(func(f media.Frame) error {
				stream = append(stream, f.Samples...)
				return nil
			}))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			w := NewRewriter(fx, 1, 65000, 0).WithMarkers(marker)
			var pkt rtp.Packet
			const frames = 600 // twelve seconds: a whole play of the fixture and the start of the next
			for k := range frames {
				s := w.Next()
				at := start.Add(time.Duration(k) * 20 * time.Millisecond)
				p.rtpSent(s, at)
				if err := pkt.Unmarshal(s.Packet); err != nil {
					t.Fatal(err)
				}
				if err := dec.WriteFrame(media.Frame{Payload: pkt.Payload, Timestamp: pkt.Timestamp}); err != nil {
					t.Fatal(err)
				}
				p.opusHeard(stream[160*k:160*k+160], at.Add(delay))
			}
			p.stop(start.Add(frames * 20 * time.Millisecond))
			tl := p.harvest(start.Add(20*time.Second), true)
			fwd := tl.fwd.Summarize()
			if tl.framesSent != frames/MarkerEvery || tl.framesLost != 0 || fwd.Count != tl.framesSent {
				t.Fatalf("markers: %d sent, %d lost, %d timed", tl.framesSent, tl.framesLost, fwd.Count)
			}
			if fwd.P50 != tc.want || fwd.Max != tc.want {
				t.Fatalf("forward: %+v; want every marker at %v", fwd, tc.want)
			}
			if tl.opusFrames != frames || tl.opusSpeech < frames/4 {
				t.Fatalf("the leg heard %d frames, %d of them speech", tl.opusFrames, tl.opusSpeech)
			}
		})
	}
}

package wsstream_test

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voxgate/voxgate/speech/transcribe"
	_ "github.com/voxgate/voxgate/speech/transcribe/pocketsphinx"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
	"github.com/voxgate/voxgate/speech/transcribe/wsstream"
)

// service is a small live-transcription WebSocket service: it recognizes
// the binary audio with pocketsphinx, sends a partial result every 25
// frames, and the final one on Finalize. dieAfter > 0 closes the
// connection after that many audio frames; mute never answers Finalize.
func service(t *testing.T, dieAfter int, mute bool) string {
	t.Helper()
	ps, err := transcribe.Open("pocketsphinx", transcribe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []*websocket.Conn
		closed bool
	)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		if closed {
			mu.Unlock()
			_ = conn.Close()
			return
		}
		wg.Add(1)
		conns = append(conns, conn)
		mu.Unlock()
		defer wg.Done()
		defer conn.Close()
		s, err := ps.NewStream()
		if err != nil {
			return
		}
		defer s.Close()
		send := func(text string, final, fin bool) {
			m := map[string]any{"type": "Results", "is_final": final, "from_finalize": fin,
				"channel": map[string]any{"alternatives": []map[string]any{{"transcript": text, "confidence": 0.8}}}}
			b, _ := json.Marshal(m)
			_ = conn.WriteMessage(websocket.TextMessage, b)
		}
		frames := 0
		for {
			typ, raw, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if typ == websocket.TextMessage {
				if strings.Contains(string(raw), "Finalize") && !mute {
					text, _, _ := s.End()
					send(text, true, true)
				}
				continue
			}
			pcm := make([]int16, len(raw)/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
			}
			_ = s.Write(pcm)
			frames++
			if dieAfter > 0 && frames == dieAfter {
				return
			}
			if frames%25 == 0 {
				if p, _ := s.Partial(); p != "" {
					send(p, false, false)
				}
			}
		}
	}))
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			_ = c.Close() // hijacked: srv.Close does not wait for them
		}
		mu.Unlock()
		wg.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// TestTurns: sentences through a Turns on the stream engine come back as
// partials then one final each.
func TestTurns(t *testing.T) {
	e, err := wsstream.Open(transcribe.Options{URL: service(t, 0, false)})
	if err != nil {
		t.Fatal(err)
	}
	all := transcribetest.Sentences(t)
	var mu sync.Mutex
	var finals []string
	partials := 0
	tr := transcribe.NewTurns(e.NewStream, func(r transcribe.Result) {
		mu.Lock()
		defer mu.Unlock()
		if !r.Final {
			partials++
			return
		}
		if partials == 0 {
			t.Errorf("final %q without a partial", r.Text)
		}
		partials = 0
		finals = append(finals, r.Text)
	}, func(err error) { t.Error(err) })
	silence := make([]int16, transcribe.Rate)
	var audio []int16
	var refs []string
	for _, i := range []int{1, 9} {
		audio = append(append(audio, silence...), all[i].PCM...)
		refs = append(refs, all[i].Text)
	}
	audio = append(audio, silence...)
	// In real time, as a session's clock does: the service answers as the audio goes.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := 0; n+transcribe.FrameSamples <= len(audio); n += transcribe.FrameSamples {
		<-tick.C
		tr.Push(audio[n:n+transcribe.FrameSamples], int64(n/16))
	}
	tr.Close()
	if tr.Dropped() > 0 {
		t.Errorf("%d frames dropped", tr.Dropped())
	}
	if len(finals) != len(refs) {
		t.Fatalf("finals %q for %d sentences", finals, len(refs))
	}
	if wer := transcribetest.WER(refs, finals); wer > 0.20 {
		t.Fatalf("WER %.3f: %q", wer, finals)
	}
}

// TestFailures: a service that dies mid-stream, or never finalizes, gives
// an error for that turn; the next turn dials again.
func TestFailures(t *testing.T) {
	pcm := transcribetest.Sentences(t)[0].PCM
	for _, c := range []struct {
		name     string
		dieAfter int
		mute     bool
	}{{"dies mid-stream", 20, false}, {"never finalizes", 0, true}} {
		t.Run(c.name, func(t *testing.T) {
			e, err := wsstream.Open(transcribe.Options{URL: service(t, c.dieAfter, c.mute), Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			s, err := e.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var werr error
			for n := 0; n+transcribe.FrameSamples <= len(pcm) && werr == nil; n += transcribe.FrameSamples {
				werr = s.Write(pcm[n : n+transcribe.FrameSamples])
				time.Sleep(time.Millisecond)
			}
			if _, _, err := s.End(); err == nil && werr == nil {
				t.Fatal("no error")
			}
			if err := s.Write(pcm[:transcribe.FrameSamples]); err != nil {
				t.Fatalf("next turn: %v", err)
			}
		})
	}
	if _, err := wsstream.Open(transcribe.Options{URL: "http://x"}); err == nil {
		t.Fatal("an http URL opened")
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	e, _ := wsstream.Open(transcribe.Options{URL: "ws" + strings.TrimPrefix(srv.URL, "http")})
	srv.Close()
	if _, err := e.NewStream(); err == nil {
		t.Fatal("a stream to a closed port")
	}
}

func FuzzParseResult(f *testing.F) {
	for _, s := range []string{`{"type":"Results","is_final":true,"channel":{"alternatives":[{"transcript":"hi","confidence":0.9}]}}`, `{"type":"Metadata"}`, `{"channel":{"alternatives":[]}}`, `nope`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _ = wsstream.ParseResult(raw)
	})
}

// TestAPIKey: the key goes in the handshake's Authorization header, as a
// bearer token or as given with its scheme; a service that refuses it
// fails the stream with its status.
func TestAPIKey(t *testing.T) {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "Bearer k1" && a != "Token k2" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	for _, c := range []struct {
		key string
		ok  bool
	}{{"k1", true}, {"Token k2", true}, {"k2", false}, {"", false}} {
		e, err := wsstream.Open(transcribe.Options{URL: url, APIKey: c.key})
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.NewStream()
		if c.ok != (err == nil) {
			t.Fatalf("key %q: %v", c.key, err)
		}
		if err != nil && !strings.Contains(err.Error(), "401") {
			t.Errorf("key %q: %v, want the status", c.key, err)
		}
		if s != nil {
			_ = s.Close()
		}
	}
}

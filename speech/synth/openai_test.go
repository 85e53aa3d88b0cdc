package synth

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// speechServer speaks like OpenAI's /v1/audio/speech: 1 s of a 220 Hz
// square wave at 24 kHz (pcm) or 48 kHz (wav).
func speechServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]string
		if r.URL.Path != "/v1/audio/speech" || json.NewDecoder(r.Body).Decode(&req) != nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer k" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"message":"Incorrect API key"}}`))
			return
		}
		switch req["input"] {
		case "slow":
			select {
			case <-time.After(time.Minute):
			case <-r.Context().Done():
			}
			return
		case "boom":
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		rate := 24000
		if req["response_format"] == "wav" {
			rate = 48000
		}
		pcm := make([]int16, rate)
		for i := range pcm {
			pcm[i] = 8000
			if (i*440/rate)%2 == 1 {
				pcm[i] = -8000
			}
		}
		if req["response_format"] == "wav" {
			w.Write(wavFile(rate, pcm))
			return
		}
		binary.Write(w, binary.LittleEndian, pcm)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOpenAISpeech(t *testing.T) {
	srv := speechServer(t)
	ctx := context.Background()
	for _, format := range []string{"pcm", "wav"} {
		o, err := NewOpenAI(srv.URL+"/", "k", "tts-1", format, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		pcm, err := o.Synthesize(ctx, "hello", "en", "alloy")
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		// One second at the session rate, still loud.
		if len(pcm) < Rate-50 || len(pcm) > Rate+50 || rms(pcm) < 5000 {
			t.Errorf("%s: %d samples, rms %.0f; want 1 s at %d Hz", format, len(pcm), rms(pcm), Rate)
		}
	}
	o, _ := NewOpenAI(srv.URL, "k", "tts-1", "pcm", nil)
	if _, err := o.Synthesize(ctx, "boom", "en", "alloy"); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("boom: %v", err)
	}
	bad, _ := NewOpenAI(srv.URL, "wrong", "tts-1", "pcm", nil)
	if _, err := bad.Synthesize(ctx, "hello", "en", "alloy"); err == nil || !strings.Contains(err.Error(), "Incorrect API key") {
		t.Errorf("bad key: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := o.Synthesize(tctx, "slow", "en", "alloy"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow: %v", err)
	}
	if _, err := NewOpenAI(srv.URL, "k", "tts-1", "mp3", nil); err == nil {
		t.Error("mp3 accepted")
	}
}

func FuzzParseWAV(f *testing.F) {
	f.Add(wavFile(16000, []int16{1, 2, 3}))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rate, pcm, err := parseWAV(b)
		if err == nil && (rate == 0 || len(pcm)%2 != 0) {
			t.Errorf("rate %d, %d bytes", rate, len(pcm))
		}
	})
}

package whisper_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voxgate/voxgate/media/mediatest"
	"github.com/voxgate/voxgate/speech/transcribe"
	_ "github.com/voxgate/voxgate/speech/transcribe/pocketsphinx"
	"github.com/voxgate/voxgate/speech/transcribe/transcribetest"
	"github.com/voxgate/voxgate/speech/transcribe/whisper"
)

// server is a small /v1/audio/transcriptions server: it checks the upload
// and transcribes the WAV with pocketsphinx, as a whisper.cpp server would
// with its model.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	ps, err := transcribe.Open("pocketsphinx", transcribe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/audio/transcriptions" || r.Method != http.MethodPost || r.FormValue("model") != "base.en" {
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rate, pcm, err := mediatest.ReadWAV(f)
		if err != nil || rate != 16000 {
			http.Error(w, "not a 16 kHz WAV", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		s, err := ps.NewStream()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer s.Close()
		_ = s.Write(pcm)
		text, _, _ := s.End()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"text":" ` + text + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestTurns speaks sentences through a Turns on the whisper engine: each
// turn is uploaded once and comes back as a final.
func TestTurns(t *testing.T) {
	srv := server(t)
	e, err := whisper.Open(transcribe.Options{URL: srv.URL, Model: "base.en"})
	if err != nil {
		t.Fatal(err)
	}
	all := transcribetest.Sentences(t)
	var mu sync.Mutex
	var finals []string
	tr := transcribe.NewTurns(e.NewStream, func(r transcribe.Result) {
		mu.Lock()
		defer mu.Unlock()
		if r.Final {
			finals = append(finals, r.Text)
		}
	}, func(err error) { t.Error(err) })
	silence := make([]int16, transcribe.Rate)
	var audio []int16
	var refs []string
	for _, i := range []int{1, 5} {
		audio = append(append(audio, silence...), all[i].PCM...)
		refs = append(refs, all[i].Text)
	}
	audio = append(audio, silence...)
	for n := 0; n+transcribe.FrameSamples <= len(audio); n += transcribe.FrameSamples {
		for !tr.Push(audio[n:n+transcribe.FrameSamples], int64(n/16)) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	tr.Close()
	if len(finals) != len(refs) {
		t.Fatalf("finals %q for %d sentences", finals, len(refs))
	}
	if wer := transcribetest.WER(refs, finals); wer > 0.20 {
		t.Fatalf("WER %.3f: %q", wer, finals)
	}
}

// TestFailures: what a broken server does comes back as an error naming it.
func TestFailures(t *testing.T) {
	pcm := transcribetest.Sentences(t)[0].PCM
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"error status", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"error":"model not loaded"}`, http.StatusServiceUnavailable)
		}, "503"},
		{"not json", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) }, "without text"},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
		}, "Timeout"},
		{"dies mid-answer", func(w http.ResponseWriter, _ *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"text\":")
			_ = buf.Flush()
			_ = conn.Close()
		}, "whisper"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			e, err := whisper.Open(transcribe.Options{URL: srv.URL, Timeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			s, _ := e.NewStream()
			defer s.Close()
			if err := s.Write(pcm); err != nil {
				t.Fatal(err)
			}
			_, _, err = s.End()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one with %q", err, c.want)
			}
		})
	}
	t.Run("no server", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		e, _ := whisper.Open(transcribe.Options{URL: url})
		s, _ := e.NewStream()
		_ = s.Write(pcm)
		if _, _, err := s.End(); err == nil {
			t.Fatal("no error from a closed port")
		}
	})
	if _, err := whisper.Open(transcribe.Options{URL: "ftp://x"}); err == nil {
		t.Fatal("an ftp URL opened")
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{`{"text":"hello world"}`, `{"text":""}`, `{}`, `{"text":null}`, `[`, `{"text":"a","segments":[{"avg_logprob":-0.2}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		text, err := whisper.ParseResponse(raw)
		if err != nil && text != "" {
			t.Fatalf("%q: text %q with error %v", raw, text, err)
		}
		if strings.Join(strings.Fields(text), " ") != text {
			t.Fatalf("%q: text %q not normalized", raw, text)
		}
	})
}

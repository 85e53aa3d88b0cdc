package main

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/stream"
)

// streamCmd runs "voxgate stream <session_id>": it prints the session's
// messages as lines and can play a WAV file into it as one side.
func streamCmd(args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "the gateway's base URL")
	token := fs.String("token", "", "a kst_ stream token (or use --api-key to mint one)")
	apiKey := fs.String("api-key", env("VOXGATE_API_KEY"), "an API key to mint a stream token with (env VOXGATE_API_KEY)")
	play := fs.String("play", "", "a 16-bit mono WAV file (8, 16, 24 or 48 kHz) to send as audio.input")
	speaker := fs.String("speaker", "agent", "the side --play speaks for: customer or agent")
	audio := fs.String("audio", "mulaw_8000", "audio.output encoding: mulaw_8000, pcm16_8000, pcm16_16000 or none")
	quiet := fs.Bool("quiet-audio", false, "do not print audio.output lines")
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = append(args[1:], args[0]) // the session ID may come first
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: voxgate stream <session_id> [--url URL] (--token kst_… | --api-key sk_…) [--play file.wav --speaker agent]")
		return 2
	}
	sid := fs.Arg(0)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	if *token == "" {
		if *apiKey == "" {
			fmt.Fprintln(stderr, "voxgate stream: give --token, or --api-key to mint one")
			return 2
		}
		var err error
		if *token, err = stream.MintToken(ctx, *base, *apiKey, sid); err != nil {
			fmt.Fprintln(stderr, "voxgate stream:", err)
			return 1
		}
	}
	var wav []int16
	var rate int
	if *play != "" {
		if !session.Speaker(*speaker).Valid() {
			fmt.Fprintf(stderr, "voxgate stream: --speaker %q: use customer or agent\n", *speaker)
			return 2
		}
		var err error
		if rate, wav, err = readWAV(*play); err != nil {
			fmt.Fprintln(stderr, "voxgate stream:", err)
			return 2
		}
	}
	wsURL, err := stream.ConnectURL(*base, sid, *token, url.Values{"audio": {*audio}})
	if err != nil {
		fmt.Fprintln(stderr, "voxgate stream:", err)
		return 2
	}
	c, err := stream.Dial(ctx, wsURL)
	if err != nil {
		fmt.Fprintln(stderr, "voxgate stream:", err)
		return 1
	}
	defer c.Close()
	go func() { <-ctx.Done(); c.Close() }()
	if wav != nil {
		go playWAV(ctx, c, wav, rate, *speaker, stderr)
	}
	for {
		raw, err := c.Read()
		var ce *stream.CloseError
		if errors.As(err, &ce) {
			fmt.Fprintf(stdout, "closed %d %s\n", ce.Code, ce.Reason)
			if ce.Code == 1000 {
				return 0
			}
			return 1
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintln(stderr, "voxgate stream:", err)
			return 1
		}
		printMessage(stdout, raw, *quiet)
	}
}

// printMessage prints one message as a line; audio is summarised.
func printMessage(w io.Writer, raw []byte, quiet bool) {
	var m struct {
		Type        string `json:"type"`
		Speaker     string `json:"speaker"`
		Track       string `json:"track"`
		Sequence    int64  `json:"sequence"`
		TimestampMS int64  `json:"timestamp_ms"`
	}
	_ = json.Unmarshal(raw, &m)
	if m.Type == "audio.output" {
		if !quiet {
			fmt.Fprintf(w, "audio.output %s/%s seq=%d t=%dms\n", m.Speaker, m.Track, m.Sequence, m.TimestampMS)
		}
		return
	}
	fmt.Fprintf(w, "%s\n", raw)
}

// playWAV sends the samples in real time as 20 ms audio.input frames, then
// a mark so the printed echo says when they were all played.
func playWAV(ctx context.Context, c *stream.Client, pcm []int16, rate int, speaker string, stderr io.Writer) {
	n := rate / 50
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	buf := make([]byte, 2*n)
	for seq, off := 0, 0; off < len(pcm); seq, off = seq+1, off+n {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		chunk := pcm[off:min(off+n, len(pcm))]
		for i, v := range chunk {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(v))
		}
		err := c.Send(map[string]any{"type": "audio.input", "sequence": seq, "timestamp_ms": seq * 20, "speaker": speaker,
			"audio": map[string]any{"encoding": "pcm16", "sample_rate_hz": rate, "payload": base64.StdEncoding.EncodeToString(buf[:2*len(chunk)])}})
		if err != nil {
			fmt.Fprintln(stderr, "voxgate stream: play:", err)
			return
		}
	}
	_ = c.Send(map[string]string{"type": "mark", "name": "played"})
}

// readWAV reads a 16-bit PCM mono WAV file at a rate the stream takes.
func readWAV(path string) (int, []int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, nil, fmt.Errorf("%s: not a WAV file", path)
	}
	var rate int
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:]))
		body := b[p+8 : min(p+8+size, len(b))]
		switch id {
		case "fmt ":
			if len(body) < 16 || binary.LittleEndian.Uint16(body) != 1 || binary.LittleEndian.Uint16(body[2:]) != 1 || binary.LittleEndian.Uint16(body[14:]) != 16 {
				return 0, nil, fmt.Errorf("%s: want 16-bit PCM mono", path)
			}
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			if rate != 8000 && rate != 16000 && rate != 24000 && rate != 48000 {
				return 0, nil, fmt.Errorf("%s: %d Hz; convert it first, e.g. sox in.wav -r 16000 -c 1 -b 16 out.wav", path, rate)
			}
		case "data":
			if rate == 0 {
				return 0, nil, fmt.Errorf("%s: data before fmt", path)
			}
			pcm := make([]int16, len(body)/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return rate, pcm, nil
		}
		p += 8 + size + size%2
	}
	return 0, nil, fmt.Errorf("%s: no audio data", path)
}

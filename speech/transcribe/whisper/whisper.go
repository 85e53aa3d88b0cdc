// Package whisper is a transcription engine over an OpenAI-compatible
// /v1/audio/transcriptions server (a local whisper.cpp server, or any
// service of that shape), fed turn by turn: each turn's audio is uploaded
// as a WAV when the turn ends. It gives finals only, no partials.
// Importing it registers the engine "whisper".
package whisper

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/voxgate/voxgate/speech/transcribe"
)

// maxTurn bounds the audio one upload carries (a Turns cuts turns at 30 s).
const maxTurn = 35 * transcribe.Rate

func init() { transcribe.Register("whisper", Open) }

// Engine uploads turns to one server.
type Engine struct {
	endpoint string
	model    string
	client   *http.Client
}

// Open checks the server's URL; the server is first reached at the end of
// the first turn.
func Open(o transcribe.Options) (transcribe.Engine, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("whisper: %q is not an http(s) URL", o.URL)
	}
	model := o.Model
	if model == "" {
		model = "whisper-1"
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Engine{endpoint: strings.TrimRight(o.URL, "/") + "/v1/audio/transcriptions", model: model,
		client: &http.Client{Timeout: timeout}}, nil
}

// NewStream opens a stream that keeps a turn's audio until it ends.
func (e *Engine) NewStream() (transcribe.Stream, error) {
	return &stream{e: e}, nil
}

type stream struct {
	e   *Engine
	pcm []int16
}

func (s *stream) Write(pcm []int16) error {
	if len(s.pcm)+len(pcm) > maxTurn {
		return errors.New("whisper: turn too long")
	}
	s.pcm = append(s.pcm, pcm...)
	return nil
}

// Partial is always empty: the server hears a turn once it ended.
func (s *stream) Partial() (string, error) { return "", nil }

func (s *stream) End() (string, float64, error) {
	pcm := s.pcm
	s.pcm = s.pcm[:0]
	if len(pcm) == 0 {
		return "", 0, nil
	}
	text, err := s.e.transcribe(context.Background(), pcm)
	if err != nil {
		return "", 0, err
	}
	if text == "" {
		return "", 0, nil
	}
	return text, 1, nil // the API reports no confidence
}

func (s *stream) Close() error { return nil }

// transcribe uploads one turn and returns its text.
func (e *Engine) transcribe(ctx context.Context, pcm []int16) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("model", e.model)
	_ = mw.WriteField("response_format", "json")
	fw, err := mw.CreateFormFile("file", "turn.wav")
	if err != nil {
		return "", err
	}
	if err := writeWAV(fw, pcm); err != nil {
		return "", err
	}
	if err := mw.Close(); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, &body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := e.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("whisper: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("whisper: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("whisper: %s answered %s: %.200s", e.endpoint, resp.Status, raw)
	}
	return ParseResponse(raw)
}

// ParseResponse reads a transcription answer: {"text": "..."} (also the
// verbose_json shape, which has the same field).
func ParseResponse(raw []byte) (string, error) {
	var r struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || r.Text == nil {
		return "", fmt.Errorf("whisper: an answer without text: %.200s", raw)
	}
	return strings.Join(strings.Fields(*r.Text), " "), nil
}

// writeWAV writes 16 kHz mono 16-bit PCM as a WAV file.
func writeWAV(w io.Writer, pcm []int16) error {
	n := uint32(len(pcm) * 2)
	h := struct {
		Riff     [4]byte
		Size     uint32
		Wave     [4]byte
		Fmt      [4]byte
		FmtSize  uint32
		Format   uint16
		Channels uint16
		Rate     uint32
		ByteRate uint32
		Align    uint16
		Bits     uint16
		Data     [4]byte
		DataSize uint32
	}{[4]byte{'R', 'I', 'F', 'F'}, 36 + n, [4]byte{'W', 'A', 'V', 'E'}, [4]byte{'f', 'm', 't', ' '}, 16, 1, 1,
		transcribe.Rate, transcribe.Rate * 2, 2, 16, [4]byte{'d', 'a', 't', 'a'}, n}
	if err := binary.Write(w, binary.LittleEndian, h); err != nil {
		return err
	}
	return binary.Write(w, binary.LittleEndian, pcm)
}

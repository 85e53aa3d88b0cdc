package synth

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/voxgate/voxgate/transcode"
)

// OpenAI speaks through an OpenAI-compatible server: POST
// {base}/v1/audio/speech with {model, input, voice, response_format}
// answers raw audio. Format "pcm" is mono PCM16 little-endian at 24 kHz;
// "wav" is a RIFF file of mono PCM16 at a rate the resampler takes. Either
// is resampled to Rate.
type OpenAI struct {
	base, key, model, format string
	client                   *http.Client
}

// NewOpenAI returns an adapter for the server at base (e.g.
// "http://127.0.0.1:8000"); format is "pcm" or "wav"; key may be empty;
// client nil means http.DefaultClient (deadlines come from the context).
func NewOpenAI(base, key, model, format string, client *http.Client) (*OpenAI, error) {
	if format != "pcm" && format != "wav" {
		return nil, fmt.Errorf("openai speech: response_format %q: want pcm or wav", format)
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &OpenAI{base: strings.TrimSuffix(base, "/"), key: key, model: model, format: format, client: client}, nil
}

// maxAudio bounds the answer: 10 minutes of 48 kHz PCM16.
const maxAudio = 10 * 60 * 48000 * 2

// openAIPCMRate is the rate of OpenAI's "pcm" response format.
const openAIPCMRate = 24000

// Synthesize asks the server for text spoken by voice; language is passed
// on only through the text (the API has no language field).
func (o *OpenAI) Synthesize(ctx context.Context, text, language, voice string) ([]int16, error) {
	body, err := json.Marshal(map[string]string{"model": o.model, "input": text, "voice": voice, "response_format": o.format})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base+"/v1/audio/speech", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("openai speech: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if o.key != "" {
		req.Header.Set("Authorization", "Bearer "+o.key)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("openai speech: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAudio))
	if err != nil {
		return nil, fmt.Errorf("openai speech: read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			return nil, fmt.Errorf("openai speech: HTTP %d: %s", resp.StatusCode, e.Error.Message)
		}
		return nil, fmt.Errorf("openai speech: HTTP %d", resp.StatusCode)
	}
	rate, pcm := openAIPCMRate, data
	if o.format == "wav" {
		if rate, pcm, err = parseWAV(data); err != nil {
			return nil, fmt.Errorf("openai speech: %w", err)
		}
	}
	samples := make([]int16, len(pcm)/2)
	for i := range samples {
		samples[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
	}
	if rate == Rate {
		return samples, nil
	}
	r, err := transcode.NewResampler(rate, Rate)
	if err != nil {
		return nil, fmt.Errorf("openai speech: %w", err)
	}
	return r.Resample(make([]int16, 0, r.OutLen(len(samples))), samples), nil
}

var errWAV = errors.New("not a mono PCM16 WAV")

// parseWAV returns the rate and sample bytes of a mono PCM16 RIFF WAV.
func parseWAV(b []byte) (rate int, pcm []byte, err error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, nil, errWAV
	}
	b = b[12:]
	for len(b) >= 8 {
		id, size := string(b[:4]), int(binary.LittleEndian.Uint32(b[4:8]))
		b = b[8:]
		if size < 0 || size > len(b) {
			size = len(b) // streaming servers write an unknown (max) size
		}
		switch id {
		case "fmt ":
			if size < 16 || binary.LittleEndian.Uint16(b[0:]) != 1 || binary.LittleEndian.Uint16(b[2:]) != 1 || binary.LittleEndian.Uint16(b[14:]) != 16 {
				return 0, nil, errWAV
			}
			rate = int(binary.LittleEndian.Uint32(b[4:]))
		case "data":
			if rate == 0 {
				return 0, nil, errWAV
			}
			return rate, b[:size&^1], nil
		}
		b = b[min(len(b), size+size&1):]
	}
	return 0, nil, errWAV
}

var _ Synthesizer = (*OpenAI)(nil)

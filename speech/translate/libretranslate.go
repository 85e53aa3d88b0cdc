package translate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// LibreTranslate translates through a LibreTranslate-compatible server:
// POST {base}/translate with {q, source, target, format, api_key} answers
// {translatedText}, or {error} with a non-2xx status.
type LibreTranslate struct {
	base   string
	key    string
	pairs  []Pair
	client *http.Client
}

// NewLibreTranslate returns an adapter for the server at base (e.g.
// "http://127.0.0.1:5000"), which the operator says translates pairs. key
// may be empty; client nil means http.DefaultClient (deadlines then come
// from the context).
func NewLibreTranslate(base, key string, pairs []Pair, client *http.Client) *LibreTranslate {
	if client == nil {
		client = http.DefaultClient
	}
	return &LibreTranslate{base: strings.TrimSuffix(base, "/"), key: key, pairs: pairs, client: client}
}

// Pairs lists the configured directions.
func (l *LibreTranslate) Pairs() []Pair { return l.pairs }

// Close does nothing: connections belong to the HTTP client.
func (l *LibreTranslate) Close() error { return nil }

type libreRequest struct {
	Q      string `json:"q"`
	Source string `json:"source"`
	Target string `json:"target"`
	Format string `json:"format"`
	APIKey string `json:"api_key,omitempty"`
}

type libreResponse struct {
	TranslatedText *string `json:"translatedText"`
	Error          string  `json:"error"`
}

// maxResponse bounds the answer read from the server.
const maxResponse = 1 << 20

// Translate sends one text.
func (l *LibreTranslate) Translate(ctx context.Context, text, from, to string) (string, error) {
	if !Supports(l.pairs, from, to) {
		return "", fmt.Errorf("libretranslate %s-%s: %w", from, to, ErrUnsupported)
	}
	body, err := json.Marshal(libreRequest{Q: text, Source: primary(from), Target: primary(to), Format: "text", APIKey: l.key})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.base+"/translate", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("libretranslate: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("libretranslate: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return "", fmt.Errorf("libretranslate: read answer: %w", err)
	}
	return parseLibre(resp.StatusCode, data)
}

// parseLibre reads a LibreTranslate answer.
func parseLibre(status int, data []byte) (string, error) {
	var r libreResponse
	jsonErr := json.Unmarshal(data, &r)
	if status < 200 || status > 299 {
		if jsonErr == nil && r.Error != "" {
			return "", fmt.Errorf("libretranslate: HTTP %d: %s", status, r.Error)
		}
		return "", fmt.Errorf("libretranslate: HTTP %d", status)
	}
	if jsonErr != nil {
		return "", fmt.Errorf("libretranslate: bad answer: %w", jsonErr)
	}
	if r.TranslatedText == nil {
		return "", fmt.Errorf("libretranslate: answer without translatedText")
	}
	return *r.TranslatedText, nil
}

var _ Translator = (*LibreTranslate)(nil)

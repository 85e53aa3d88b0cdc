package session

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/voxgate/voxgate/transcode"
)

// Config configures the session manager. Zero values take the defaults
// documented on each field.
type Config struct {
	// PublicURL is the gateway's base URL as clients reach it; stream.url is
	// derived from it (http→ws, https→wss). Required.
	PublicURL string `yaml:"public_url"`
	// SIPHost is the host[:port] put in sip_uri ("sip:sess_…@SIPHost"). Required.
	SIPHost string `yaml:"sip_host"`
	// IdleTimeout ends a session in which nothing happened for this long. Default 30m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// SweepInterval is how often idle sessions are looked for. Default 30s.
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// StreamTokenTTL is how long a kst_ token may be used to connect. Default 5m.
	StreamTokenTTL time.Duration `yaml:"stream_token_ttl"`
	// MaxConcurrentSessions caps an organization's live sessions unless the
	// organization has its own cap. Default 100.
	MaxConcurrentSessions int `yaml:"max_concurrent_sessions"`
	// MaxPlayout is how much audio a client may queue ahead of real time,
	// in 20 ms frames. Default 3000 (60 s).
	MaxPlayout int `yaml:"max_playout_frames"`
	// MaxSubscribers caps the /connect clients of one session. Default 32.
	MaxSubscribers int `yaml:"max_subscribers"`
	// Languages are those the configured speech engines handle.
	Languages Languages `yaml:"languages"`
	// RecordingsDir is where recordings are written (empty: sessions that
	// ask for a recording get none, and a warning is logged).
	RecordingsDir string `yaml:"recordings_dir"`
	// RecordingRetention deletes recordings, files and rows, this long after
	// they were made. 0 keeps them.
	RecordingRetention time.Duration `yaml:"recording_retention"`
	// Transcription chooses the engine of transcription-mode sessions.
	Transcription TranscriptionConfig `yaml:"transcription"`
	// Translation and Synthesis choose the engines of translation modes.
	Translation TranslationConfig `yaml:"translation"`
	Synthesis   SynthesisConfig   `yaml:"synthesis"`
	// Transcode tunes the encoders of what legs hear: the Opus bitrate and
	// complexity of WebRTC legs. The zero value takes the codecs' defaults.
	Transcode transcode.Config `yaml:"transcode"`
	// CheckWebhookURL vets a session's webhook_url (the webhook package's
	// SSRF rules); nil accepts any absolute http(s) URL.
	CheckWebhookURL func(param, raw string) error `yaml:"-"`
}

// Languages says what the configured speech engines can do, so that a
// session asking for more is refused up front (400 unsupported_language).
type Languages struct {
	// Transcribe lists the languages speech can be recognized in. Default [en].
	Transcribe []string `yaml:"transcribe"`
	// Translate lists the translation pairs as "src-tgt". Default: the
	// pairs of the installed Apertium packages (apertium engine), or
	// [en-es, es-en].
	Translate []string `yaml:"translate"`
}

func (c *Config) setDefaults() {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = 30 * time.Second
	}
	if c.StreamTokenTTL == 0 {
		c.StreamTokenTTL = 5 * time.Minute
	}
	if c.MaxConcurrentSessions == 0 {
		c.MaxConcurrentSessions = 100
	}
	if c.MaxPlayout == 0 {
		c.MaxPlayout = 3000
	}
	if c.MaxSubscribers == 0 {
		c.MaxSubscribers = 32
	}
	if c.Transcription.Engine == "" {
		c.Transcription.Engine = "pocketsphinx"
	}
	if c.Languages.Transcribe == nil {
		c.Languages.Transcribe = []string{"en"}
	}
	if c.Languages.Translate == nil {
		c.Languages.Translate = []string{"en-es", "es-en"}
		if c.Translation.Engine == "" || c.Translation.Engine == "apertium" {
			c.Languages.Translate = installedPairs()
		}
	}
}

// Validate checks the configuration after defaults are applied.
func (c Config) Validate() error {
	c.setDefaults()
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("public_url: %q is not an http(s) URL", c.PublicURL)
	}
	if c.SIPHost == "" {
		return errors.New("sip_host: must be set")
	}
	if c.IdleTimeout < 0 || c.SweepInterval < 0 || c.StreamTokenTTL < 0 {
		return errors.New("idle_timeout, sweep_interval, stream_token_ttl: must not be negative")
	}
	if c.RecordingRetention < 0 {
		return errors.New("recording_retention: must not be negative")
	}
	if c.MaxPlayout < 0 || c.MaxSubscribers < 0 {
		return errors.New("max_playout_frames, max_subscribers: must not be negative")
	}
	if c.MaxConcurrentSessions < 0 {
		return errors.New("max_concurrent_sessions: must not be negative")
	}
	if err := c.Transcode.Validate(); err != nil {
		return fmt.Errorf("transcode.%w", err)
	}
	if e := c.Translation.Engine; e != "" && e != "apertium" && e != "libretranslate" {
		return fmt.Errorf("translation.engine: %q is not apertium or libretranslate", e)
	}
	if e := c.Synthesis.Engine; e != "" && e != "offline" && e != "openai" {
		return fmt.Errorf("synthesis.engine: %q is not offline or openai", e)
	}
	if (c.Translation.Engine == "libretranslate" && c.Translation.URL == "") || (c.Synthesis.Engine == "openai" && c.Synthesis.URL == "") {
		return errors.New("translation.url, synthesis.url: the libretranslate and openai engines need a URL")
	}
	for _, l := range c.Languages.Transcribe {
		if !validLanguage(l) {
			return fmt.Errorf("languages.transcribe: %q is not a language code", l)
		}
	}
	for _, p := range c.Languages.Translate {
		src, tgt, ok := strings.Cut(p, "-")
		if !ok || !validLanguage(src) || !validLanguage(tgt) {
			return fmt.Errorf("languages.translate: %q is not a pair like en-es", p)
		}
	}
	return nil
}

// streamURL is the WebSocket URL of a session's /connect stream.
func (c Config) streamURL(sessionID string) string {
	base := strings.TrimRight(c.PublicURL, "/")
	switch {
	case strings.HasPrefix(base, "https://"):
		base = "wss://" + strings.TrimPrefix(base, "https://")
	case strings.HasPrefix(base, "http://"):
		base = "ws://" + strings.TrimPrefix(base, "http://")
	}
	return base + "/v1/sessions/" + sessionID + "/connect"
}

package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/voxgate/voxgate/api"
	"github.com/voxgate/voxgate/rtc"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/transcode"
	"github.com/voxgate/voxgate/transcode/opus"
	"github.com/voxgate/voxgate/webhook"
)

// Config is everything voxgate serve can be told. Each value comes from,
// in rising precedence: its default, the YAML file (--config), the
// VOXGATE_* environment, and the command-line flag. The settings table
// below is the one place the names and defaults are documented; `voxgate
// serve -h` prints it.
type Config struct {
	HTTPAddr            string        `yaml:"http_addr"`
	SIPAddr             string        `yaml:"sip_addr"`
	AdminAddr           string        `yaml:"admin_addr"`
	DataDir             string        `yaml:"data_dir"`
	DatabaseURL         string        `yaml:"database_url"`
	PublicURL           string        `yaml:"public_url"`
	SIPHost             string        `yaml:"sip_host"`
	CORSOrigins         []string      `yaml:"cors_origins"`
	WebhookAllowPrivate bool          `yaml:"webhook_allow_private"`
	DrainTimeout        time.Duration `yaml:"drain_timeout"`
	IdleTimeout         time.Duration `yaml:"idle_timeout"`
	RateLimitPerMinute  int           `yaml:"rate_limit_per_minute"`
	MaxSessionsPerOrg   int           `yaml:"max_concurrent_sessions"`
	LogLevel            string        `yaml:"log_level"`
	LogFormat           string        `yaml:"log_format"`
	DevKey              bool          `yaml:"dev_key"`
	RTPPortMin          int           `yaml:"rtp_port_min"`
	RTPPortMax          int           `yaml:"rtp_port_max"`
	SIPSourceRate       int           `yaml:"sip_source_rate"`
	SIPSourceBurst      int           `yaml:"sip_source_burst"`
	SIPBan              time.Duration `yaml:"sip_ban"`
	MaxCallsPerOrg      int           `yaml:"max_concurrent_calls"`
	SIPTLSAddr          string        `yaml:"sip_tls_addr"`
	SIPTLSCert          string        `yaml:"sip_tls_cert"`
	SIPTLSKey           string        `yaml:"sip_tls_key"`
	RetentionDays       int           `yaml:"recording_retention_days"`
	TranscriptionEngine string        `yaml:"transcription_engine"`
	TranscriptionModel  string        `yaml:"transcription_model"`
	TranscriptionURL    string        `yaml:"transcription_url"`
	RedisURL            string        `yaml:"redis_url"`
	NodeID              string        `yaml:"node_id"`
	AdvertiseAddr       string        `yaml:"advertise_addr"`
	NodeCapacity        int           `yaml:"node_capacity"`
	NodeTTL             time.Duration `yaml:"node_ttl"`
	TranslationEngine   string        `yaml:"translation_engine"`
	TranslationURL      string        `yaml:"translation_url"`
	SynthesisEngine     string        `yaml:"synthesis_engine"`
	SynthesisURL        string        `yaml:"synthesis_url"`
	SynthesisVoice      string        `yaml:"synthesis_voice"`
	OpusComplexity      int           `yaml:"opus_complexity"`
	OpusBitrate         int           `yaml:"opus_bitrate"`
	// TranscriptionLanguages (YAML only) picks another engine for some
	// languages, e.g. {es: {engine: whisper, url: http://…}}.
	TranscriptionLanguages map[string]session.TranscriptionConfig `yaml:"transcription_languages"`
	TranscriptionNB        string                                 `yaml:"transcription_narrowband_model"`
	TranscriptionKey       string                                 `yaml:"transcription_api_key"`
	// Languages, Trunks, WebRTC and Webhooks are set in the YAML file only.
	Languages session.Languages `yaml:"languages"`
	Trunks    []TrunkConfig     `yaml:"trunks"`
	WebRTC    rtc.Config        `yaml:"webrtc"`
	Webhooks  webhook.Config    `yaml:"webhooks"`
}

func defaultConfig() Config {
	return Config{
		HTTPAddr:           "127.0.0.1:8080",
		SIPAddr:            "0.0.0.0:5060",
		AdminAddr:          "127.0.0.1:6060",
		DataDir:            "./data",
		CORSOrigins:        []string{"*"},
		DrainTimeout:       5 * time.Minute,
		IdleTimeout:        30 * time.Minute,
		RateLimitPerMinute: 600,
		MaxSessionsPerOrg:  100,
		NodeCapacity:       1000,
		NodeTTL:            10 * time.Second,
		OpusComplexity:     opus.DefaultComplexity,
		OpusBitrate:        opus.DefaultBitrate,
		SIPSourceRate:      300,
		SIPSourceBurst:     20,
		SIPBan:             10 * time.Minute,
		SIPTLSAddr:         "0.0.0.0:5061",
		LogLevel:           "info",
		LogFormat:          "json",
	}
}

// setting binds one Config field to its flag and environment variable.
type setting struct {
	flag, env, usage string
	value            flag.Value
}

func settings(c *Config) []setting {
	return []setting{
		{"http-addr", "VOXGATE_HTTP_ADDR", "address of the REST API, WebSocket streams and demo page", (*stringValue)(&c.HTTPAddr)},
		{"sip-addr", "VOXGATE_SIP_ADDR", "address SIP listens on (UDP and TCP)", (*stringValue)(&c.SIPAddr)},
		{"admin-addr", "VOXGATE_ADMIN_ADDR", "loopback address of pprof (empty: off)", (*stringValue)(&c.AdminAddr)},
		{"data-dir", "VOXGATE_DATA_DIR", "directory of the SQLite database and recordings", (*stringValue)(&c.DataDir)},
		{"database-url", "VOXGATE_DATABASE_URL", "postgres://… to use PostgreSQL (default: SQLite in the data dir)", (*stringValue)(&c.DatabaseURL)},
		{"public-url", "VOXGATE_PUBLIC_URL", "base URL clients reach the gateway at (default: http://<http-addr>)", (*stringValue)(&c.PublicURL)},
		{"sip-host", "VOXGATE_SIP_HOST", "host[:port] put in sip_uri (default: the public URL's host and the SIP port)", (*stringValue)(&c.SIPHost)},
		{"cors-origins", "VOXGATE_CORS_ORIGINS", "comma-separated origins allowed on browser routes", (*listValue)(&c.CORSOrigins)},
		{"webhook-allow-private", "VOXGATE_WEBHOOK_ALLOW_PRIVATE", "let webhook URLs reach loopback and private addresses", (*boolValue)(&c.WebhookAllowPrivate)},
		{"drain-timeout", "VOXGATE_DRAIN_TIMEOUT", "how long SIGTERM waits for live calls before ending them", (*durationValue)(&c.DrainTimeout)},
		{"idle-timeout", "VOXGATE_IDLE_TIMEOUT", "end sessions in which nothing happened for this long", (*durationValue)(&c.IdleTimeout)},
		{"rate-limit", "VOXGATE_RATE_LIMIT", "requests per minute per API key (a key may have its own)", (*intValue)(&c.RateLimitPerMinute)},
		{"max-concurrent-sessions", "VOXGATE_MAX_CONCURRENT_SESSIONS", "live sessions per organization", (*intValue)(&c.MaxSessionsPerOrg)},
		{"log-level", "VOXGATE_LOG_LEVEL", "debug, info, warn or error", (*stringValue)(&c.LogLevel)},
		{"log-format", "VOXGATE_LOG_FORMAT", "json or console", (*stringValue)(&c.LogFormat)},
		{"rtp-port-min", "VOXGATE_RTP_PORT_MIN", "lowest UDP port for SIP calls' RTP (0: any)", (*intValue)(&c.RTPPortMin)},
		{"rtp-port-max", "VOXGATE_RTP_PORT_MAX", "highest UDP port for SIP calls' RTP (0: any)", (*intValue)(&c.RTPPortMax)},
		{"sip-source-rate", "VOXGATE_SIP_SOURCE_RATE", "INVITEs and REGISTERs per minute from a source outside every trunk's inbound_cidrs (negative: no limit)", (*intValue)(&c.SIPSourceRate)},
		{"sip-source-burst", "VOXGATE_SIP_SOURCE_BURST", "how many of those a source may send at once", (*intValue)(&c.SIPSourceBurst)},
		{"sip-ban", "VOXGATE_SIP_BAN", "how long a source past its rate is ignored", (*durationValue)(&c.SIPBan)},
		{"sip-tls-addr", "VOXGATE_SIP_TLS_ADDR", "address SIP over TLS listens on, when a certificate is set", (*stringValue)(&c.SIPTLSAddr)},
		{"sip-tls-cert", "VOXGATE_SIP_TLS_CERT", "PEM certificate (chain) for SIP over TLS, read again on SIGHUP", (*stringValue)(&c.SIPTLSCert)},
		{"sip-tls-key", "VOXGATE_SIP_TLS_KEY", "PEM private key of that certificate", (*stringValue)(&c.SIPTLSKey)},
		{"max-concurrent-calls", "VOXGATE_MAX_CONCURRENT_CALLS", "SIP calls per organization on this node (0: no cap)", (*intValue)(&c.MaxCallsPerOrg)},
		{"recording-retention-days", "VOXGATE_RECORDING_RETENTION_DAYS", "delete recordings (files and rows) this many days after they were made (0: keep)", (*intValue)(&c.RetentionDays)},
		{"transcription-engine", "VOXGATE_TRANSCRIPTION_ENGINE", "speech engine of transcription-mode sessions: pocketsphinx (offline), whisper or stream", (*stringValue)(&c.TranscriptionEngine)},
		{"transcription-model", "VOXGATE_TRANSCRIPTION_MODEL", "that engine's model (pocketsphinx: a directory like /usr/share/pocketsphinx/model/en-us; empty: its default)", (*stringValue)(&c.TranscriptionModel)},
		{"transcription-url", "VOXGATE_TRANSCRIPTION_URL", "URL of a remote engine (whisper: the base URL of an OpenAI-compatible /v1/audio/transcriptions server; stream: a ws(s):// live-transcription endpoint)", (*stringValue)(&c.TranscriptionURL)},
		{"redis-url", "VOXGATE_REDIS_URL", "redis://… turns cluster mode on: nodes sharing this Redis and a PostgreSQL --database-url serve one API", (*stringValue)(&c.RedisURL)},
		{"node-id", "VOXGATE_NODE_ID", "this node's name in the cluster (default: host name and a random suffix)", (*stringValue)(&c.NodeID)},
		{"advertise-addr", "VOXGATE_ADVERTISE_ADDR", "host:port other nodes reach this node's HTTP API at (default: --http-addr when it names one address)", (*stringValue)(&c.AdvertiseAddr)},
		{"node-capacity", "VOXGATE_NODE_CAPACITY", "sessions and calls this node is sized for; new sessions go to the node with the most room left", (*intValue)(&c.NodeCapacity)},
		{"node-ttl", "VOXGATE_NODE_TTL", "a node silent for this long is lost: its sessions end with node_lost", (*durationValue)(&c.NodeTTL)},
		{"translation-engine", "VOXGATE_TRANSLATION_ENGINE", "translation engine of translation modes: apertium (the installed Debian pairs) or libretranslate", (*stringValue)(&c.TranslationEngine)},
		{"translation-url", "VOXGATE_TRANSLATION_URL", "LibreTranslate's base URL (its pairs are languages.translate in the YAML file)", (*stringValue)(&c.TranslationURL)},
		{"synthesis-engine", "VOXGATE_SYNTHESIS_ENGINE", "speech synthesis of translation modes: offline (flite for English, espeak-ng for the rest) or openai", (*stringValue)(&c.SynthesisEngine)},
		{"synthesis-url", "VOXGATE_SYNTHESIS_URL", "base URL of an OpenAI-compatible /v1/audio/speech server (openai engine)", (*stringValue)(&c.SynthesisURL)},
		{"synthesis-voice", "VOXGATE_SYNTHESIS_VOICE", "the synthesis engine's voice (empty: its default for the language)", (*stringValue)(&c.SynthesisVoice)},
		{"transcription-api-key", "VOXGATE_TRANSCRIPTION_API_KEY", "API key of a remote engine (stream: sent as Authorization: Bearer KEY, or as given when it starts with its scheme, like \"Token KEY\")", (*stringValue)(&c.TranscriptionKey)},
		{"transcription-narrowband-model", "VOXGATE_TRANSCRIPTION_NARROWBAND_MODEL", "the model for speakers on 8 kHz (G.711) legs (pocketsphinx: models/en-us-8k, adapted to telephone audio; empty: the wideband model)", (*stringValue)(&c.TranscriptionNB)},
		{"opus-complexity", "VOXGATE_OPUS_COMPLEXITY", "CPU the Opus encoder of a WebRTC leg may spend, 1-10 (BENCHMARKS.md has the cost of each)", (*intValue)(&c.OpusComplexity)},
		{"opus-bitrate", "VOXGATE_OPUS_BITRATE", "bits per second of the Opus a WebRTC leg hears, 6000-510000", (*intValue)(&c.OpusBitrate)},
		{"dev-key", "VOXGATE_DEV_KEY", "on an empty database, create a development key with every scope and print it", (*boolValue)(&c.DevKey)},
	}
}

// loadConfig builds the configuration from defaults, the YAML file, the
// environment and the flags in args, in that order of precedence.
func loadConfig(name string, args []string, env func(string) string) (Config, *flag.FlagSet, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	configPath := env("VOXGATE_CONFIG")
	fs.StringVar(&configPath, "config", configPath, "YAML configuration file (env VOXGATE_CONFIG)")
	all := settings(&cfg)
	for _, s := range all {
		fs.Var(s.value, s.flag, fmt.Sprintf("%s (env %s)", s.usage, s.env))
	}
	if err := fs.Parse(args); err != nil {
		return cfg, fs, err
	}
	// Remember the flags given, then rebuild from the bottom layer up.
	given := map[string]string{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
	cfg = defaultConfig()
	if configPath != "" {
		raw, err := os.ReadFile(configPath)
		if err != nil {
			return cfg, fs, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
			return cfg, fs, fmt.Errorf("config file %s: %w", configPath, err)
		}
	}
	for _, s := range all {
		if v, ok := lookup(env, s.env); ok {
			if err := s.value.Set(v); err != nil {
				return cfg, fs, fmt.Errorf("%s: %w", s.env, err)
			}
		}
	}
	for name, v := range given {
		if name == "config" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return cfg, fs, fmt.Errorf("--%s: %w", name, err)
		}
	}
	return cfg, fs, nil
}

func lookup(env func(string) string, name string) (string, bool) {
	v := env(name)
	return v, v != ""
}

// resolve fills derived values and checks every field, naming the first bad one.
func (c *Config) resolve() error {
	if err := checkHostPort("http_addr", c.HTTPAddr); err != nil {
		return err
	}
	if err := checkHostPort("sip_addr", c.SIPAddr); err != nil {
		return err
	}
	if c.AdminAddr != "" {
		if err := checkHostPort("admin_addr", c.AdminAddr); err != nil {
			return err
		}
		host, _, _ := net.SplitHostPort(c.AdminAddr)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("admin_addr: %q must be a loopback address (pprof is never exposed)", c.AdminAddr)
		}
	}
	if c.PublicURL == "" {
		host, port, _ := net.SplitHostPort(c.HTTPAddr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("public_url: %q is not an http(s) URL", c.PublicURL)
	}
	if c.SIPHost == "" {
		_, sipPort, _ := net.SplitHostPort(c.SIPAddr)
		c.SIPHost = u.Hostname()
		if sipPort != "5060" {
			c.SIPHost = net.JoinHostPort(c.SIPHost, sipPort)
		}
	}
	switch {
	case c.DrainTimeout < 0:
		return errors.New("drain_timeout: must not be negative")
	case c.IdleTimeout <= 0:
		return errors.New("idle_timeout: must be positive")
	case c.RateLimitPerMinute <= 0:
		return errors.New("rate_limit_per_minute: must be positive")
	case c.MaxSessionsPerOrg <= 0:
		return errors.New("max_concurrent_sessions: must be positive")
	case c.RetentionDays < 0:
		return errors.New("recording_retention_days: must not be negative")
	}
	if c.RTPPortMin < 0 || c.RTPPortMax > 65535 || c.RTPPortMin > c.RTPPortMax || (c.RTPPortMin == 0) != (c.RTPPortMax == 0) {
		return errors.New("rtp_port_min, rtp_port_max: set both, 1-65535, min ≤ max")
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		return fmt.Errorf("log_format: %q is not json or console", c.LogFormat)
	}
	if err := c.storeConfig().Validate(); err != nil {
		return err
	}
	if err := c.WebRTC.Validate(); err != nil {
		return fmt.Errorf("webrtc.%w", err)
	}
	if err := c.apiConfig().Validate(); err != nil {
		return err
	}
	if err := c.webhookConfig().Validate(); err != nil {
		return err
	}
	if err := c.resolveCluster(); err != nil {
		return err
	}
	return c.sessionConfig().Validate()
}

func checkHostPort(field, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: %q is not host:port", field, addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%s: %q has no valid port", field, addr)
	}
	return nil
}

func (c *Config) storeConfig() store.Config {
	return store.Config{DatabaseURL: c.DatabaseURL, DataDir: c.DataDir}
}

func (c *Config) apiConfig() api.Config {
	return api.Config{RateLimitPerMinute: c.RateLimitPerMinute, CORSOrigins: c.CORSOrigins}
}

func (c *Config) sessionConfig() session.Config {
	allow := c.WebhookAllowPrivate
	return session.Config{
		PublicURL: c.PublicURL, SIPHost: c.SIPHost, IdleTimeout: c.IdleTimeout,
		MaxConcurrentSessions: c.MaxSessionsPerOrg, Languages: c.Languages,
		RecordingsDir: filepath.Join(c.DataDir, "recordings"), RecordingRetention: time.Duration(c.RetentionDays) * 24 * time.Hour,
		Transcription: session.TranscriptionConfig{Engine: c.TranscriptionEngine, Model: c.TranscriptionModel, URL: c.TranscriptionURL,
			NarrowbandModel: c.TranscriptionNB, APIKey: c.TranscriptionKey, Languages: c.TranscriptionLanguages},
		Translation:     session.TranslationConfig{Engine: c.TranslationEngine, URL: c.TranslationURL},
		Synthesis:       session.SynthesisConfig{Engine: c.SynthesisEngine, URL: c.SynthesisURL, Voice: c.SynthesisVoice},
		CheckWebhookURL: func(param, raw string) error { return webhook.CheckURL(param, raw, allow) },
		Transcode:       transcode.Config{Opus: opus.EncoderConfig{Complexity: c.OpusComplexity, Bitrate: c.OpusBitrate}},
	}
}

func (c *Config) webhookConfig() webhook.Config {
	wc := c.Webhooks
	wc.AllowPrivate = c.WebhookAllowPrivate
	return wc
}

// flag.Value implementations bound to Config fields.
type (
	stringValue   string
	boolValue     bool
	intValue      int
	durationValue time.Duration
	listValue     []string
)

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 30s or 5m", s)
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }

func (v *listValue) Set(s string) error {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	*v = out
	return nil
}
func (v *listValue) String() string { return strings.Join(*v, ",") }

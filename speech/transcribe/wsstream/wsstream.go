// Package wsstream is a transcription engine over a streaming WebSocket
// service in the shape of the common live-transcription APIs (Deepgram's
// listen stream): binary frames of 16 kHz 16-bit little-endian mono PCM go
// up; JSON results come down,
//
//	{"type":"Results","is_final":false,"channel":{"alternatives":[{"transcript":"…","confidence":0.9}]}}
//
// and at the end of a turn {"type":"Finalize"} asks for the rest, answered
// by a result with "from_finalize":true. Each turn has its own connection
// (dialed by NewStream, then at a turn's first audio), so a connection that
// breaks loses one turn at most.
// An API key goes in the handshake's Authorization header.
// Importing it registers the engine "stream".
package wsstream

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voxgate/voxgate/speech/transcribe"
)

func init() { transcribe.Register("stream", Open) }

// Engine dials one service.
type Engine struct {
	url     string
	timeout time.Duration
	header  http.Header // Authorization, when a key is set
}

// Open checks the service's ws(s):// URL.
func Open(o transcribe.Options) (transcribe.Engine, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, fmt.Errorf("stream: %q is not a ws(s) URL", o.URL)
	}
	t := o.Timeout
	if t <= 0 {
		t = 10 * time.Second
	}
	e := &Engine{url: o.URL, timeout: t}
	if o.APIKey != "" {
		auth := o.APIKey
		if !strings.Contains(auth, " ") {
			auth = "Bearer " + auth
		}
		e.header = http.Header{"Authorization": {auth}}
	}
	return e, nil
}

// NewStream connects to the service.
func (e *Engine) NewStream() (transcribe.Stream, error) {
	s := &stream{e: e}
	if err := s.dial(); err != nil {
		return nil, err
	}
	return s, nil
}

// Result is a message from the service.
type Result struct {
	Type         string `json:"type"`
	IsFinal      bool   `json:"is_final"`
	FromFinalize bool   `json:"from_finalize"`
	Channel      struct {
		Alternatives []struct {
			Transcript string  `json:"transcript"`
			Confidence float64 `json:"confidence"`
		} `json:"alternatives"`
	} `json:"channel"`
}

// ParseResult reads one message of the service.
func ParseResult(raw []byte) (Result, error) {
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		return Result{}, fmt.Errorf("stream: a message that is not JSON: %.100q", raw)
	}
	return r, nil
}

// text is a result's best transcript and its confidence.
func (r Result) text() (string, float64) {
	if len(r.Channel.Alternatives) == 0 {
		return "", 0
	}
	a := r.Channel.Alternatives[0]
	return strings.Join(strings.Fields(a.Transcript), " "), a.Confidence
}

type stream struct {
	e       *Engine
	conn    *websocket.Conn
	buf     []byte
	retryAt time.Time // a failed dial is not tried again before

	mu        sync.Mutex
	partial   string
	finals    []string
	conf      float64
	finalized chan struct{} // closed by the reader at from_finalize or a broken connection
	err       error         // why the connection broke
	done      chan struct{} // closed when the reader ends
}

func (s *stream) dial() error {
	d := websocket.Dialer{HandshakeTimeout: s.e.timeout}
	conn, resp, err := d.Dial(s.e.url, s.e.header)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return fmt.Errorf("stream: %s: %w (%s)", s.e.url, err, resp.Status)
		}
		return fmt.Errorf("stream: %s: %w", s.e.url, err)
	}
	s.conn, s.err = conn, nil
	s.finalized, s.done = make(chan struct{}), make(chan struct{})
	go s.read(conn, s.finalized, s.done)
	return nil
}

// read takes the service's results until the connection ends.
func (s *stream) read(conn *websocket.Conn, finalized, done chan struct{}) {
	defer close(done)
	closeFinalized := sync.OnceFunc(func() { close(finalized) })
	defer closeFinalized()
	for {
		_, raw, err := conn.ReadMessage()
		if err != nil {
			s.mu.Lock()
			s.err = fmt.Errorf("stream: connection lost: %w", err)
			s.mu.Unlock()
			return
		}
		r, err := ParseResult(raw)
		if err != nil {
			continue // a message of another kind (metadata, keep-alive)
		}
		text, conf := r.text()
		s.mu.Lock()
		if r.IsFinal {
			if text != "" {
				s.finals = append(s.finals, text)
				s.conf = conf
			}
			s.partial = ""
		} else if text != "" {
			s.partial = text
		}
		s.mu.Unlock()
		if r.FromFinalize {
			closeFinalized()
		}
	}
}

func (s *stream) broken() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *stream) Write(pcm []int16) error {
	switch {
	case s.conn != nil:
		if err := s.broken(); err != nil {
			return err // this turn is lost; End drops the connection and the next turn dials again
		}
	case time.Now().Before(s.retryAt):
		return fmt.Errorf("stream: %s unreachable", s.e.url)
	default:
		if err := s.dial(); err != nil {
			s.retryAt = time.Now().Add(time.Second)
			return err
		}
	}
	s.buf = s.buf[:0]
	for _, v := range pcm {
		s.buf = binary.LittleEndian.AppendUint16(s.buf, uint16(v))
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.e.timeout))
	if err := s.conn.WriteMessage(websocket.BinaryMessage, s.buf); err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	return nil
}

// Partial is the service's latest hypothesis after the finals it gave so
// far in this turn.
func (s *stream) Partial() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSpace(strings.Join(s.finals, " ") + " " + s.partial), s.err
}

// End asks the service to finalize and waits for it (up to the timeout).
func (s *stream) End() (string, float64, error) {
	if s.conn == nil {
		return "", 0, nil
	}
	defer s.drop() // the next turn starts on a fresh connection
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.e.timeout))
	if err := s.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"Finalize"}`)); err != nil {
		return "", 0, fmt.Errorf("stream: %w", err)
	}
	select {
	case <-s.finalized:
	case <-time.After(s.e.timeout):
		return "", 0, fmt.Errorf("stream: %s did not finalize within %s", s.e.url, s.e.timeout)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return "", 0, s.err
	}
	return strings.Join(s.finals, " "), s.conf, nil
}

// drop closes the connection, if any, and forgets the turn.
func (s *stream) drop() {
	if s.conn == nil {
		return
	}
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = s.conn.Close()
	<-s.done
	s.conn = nil
	s.mu.Lock()
	s.partial, s.finals, s.conf = "", nil, 0
	s.mu.Unlock()
}

func (s *stream) Close() error {
	s.drop()
	return nil
}

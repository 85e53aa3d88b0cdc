package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
)

// Client is a /connect client: what `voxgate stream` and tests use.
type Client struct {
	ws *websocket.Conn
	mu sync.Mutex // one writer at a time
}

// ConnectURL turns a gateway's base URL (http[s]://host) into the session's
// WebSocket URL with the token and options.
func ConnectURL(base, sessionID, token string, options url.Values) (string, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss") {
		return "", fmt.Errorf("url %q: want http(s)://host:port", base)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.Path += "/v1/sessions/" + url.PathEscape(sessionID) + "/connect"
	q := url.Values{}
	for k, v := range options {
		q[k] = v
	}
	q.Set("token", token)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Dial connects to a session's stream.
func Dial(ctx context.Context, wsURL string) (*Client, error) {
	ws, res, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("connect: %s", res.Status)
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &Client{ws: ws}, nil
}

// Send writes a message as JSON.
func (c *Client) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.SendRaw(b)
}

// SendRaw writes b, a message already in JSON, as one text frame (what a
// client sending many frames uses to skip encoding each).
func (c *Client) SendRaw(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// Read returns the next text message. At the end of the stream it returns a
// *CloseError with the close code.
func (c *Client) Read() ([]byte, error) {
	for {
		kind, raw, err := c.ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return nil, &CloseError{Code: ce.Code, Reason: ce.Text}
		}
		if err != nil {
			return nil, err
		}
		if kind == websocket.TextMessage {
			return raw, nil
		}
	}
}

// Close closes the connection.
func (c *Client) Close() error { return c.ws.Close() }

// CloseError is how a stream ended: its close code and reason.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("stream closed: %d %s", e.Code, e.Reason) }

// MintToken asks the API for a fresh stream token with an API key.
func MintToken(ctx context.Context, base, apiKey, sessionID string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(base, "/")+"/v1/sessions/"+url.PathEscape(sessionID)+"/stream_tokens", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var body struct {
		Token string `json:"token"`
		Error *struct {
			Code, Message string
		} `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("stream token: %s", res.Status)
	}
	if body.Error != nil {
		return "", fmt.Errorf("stream token: %s: %s", body.Error.Code, body.Error.Message)
	}
	return body.Token, nil
}

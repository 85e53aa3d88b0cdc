// Package llm is a client of OpenAI-compatible chat-completions endpoints
// (POST {base_url}/chat/completions): streamed replies as server-sent
// events, function tools and their streamed calls, errors and timeouts.
package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Message is one message of a conversation.
type Message struct {
	Role       string     `json:"role"` // system, user, assistant or tool
	Content    string     `json:"content"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`   // assistant messages that call tools
	ToolCallID string     `json:"tool_call_id,omitempty"` // tool messages: the call answered
}

// Tool is a function the model may call.
type Tool struct {
	Type     string   `json:"type"` // function
	Function Function `json:"function"`
}

// Function describes a function tool; Parameters is a JSON Schema object.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// ToolCall is the model asking for a function call; Arguments is JSON text.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"` // function
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function and carries its arguments.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Request is a chat completion request; the client adds the model and
// asks for a stream.
type Request struct {
	Model       string    `json:"model"`
	Messages    []Message `json:"messages"`
	Tools       []Tool    `json:"tools,omitempty"`
	Temperature *float64  `json:"temperature,omitempty"`
	Stream      bool      `json:"stream"`
}

// Reply is a complete streamed reply.
type Reply struct {
	Content      string
	ToolCalls    []ToolCall
	FinishReason string // stop, tool_calls, length, ...
}

// APIError is an error answer of the endpoint.
type APIError struct {
	Status  int // HTTP status; 0 for an error sent inside the stream
	Type    string
	Message string
}

func (e *APIError) Error() string {
	if e.Status == 0 {
		return "llm: error in stream: " + e.Message
	}
	return fmt.Sprintf("llm: %d: %s", e.Status, e.Message)
}

// ErrIncomplete means the stream ended before the reply did (no [DONE]
// and no finish reason): the server died mid-stream.
var ErrIncomplete = errors.New("llm: stream ended before the reply was complete")

// ErrIdle means the endpoint sent nothing for longer than the idle timeout.
var ErrIdle = errors.New("llm: endpoint went silent")

// Client talks to one endpoint with one model.
type Client struct {
	// BaseURL is the API base, such as http://127.0.0.1:8000/v1.
	BaseURL string
	Model   string
	APIKey  string // sent as a Bearer token when set
	// HTTP is the HTTP client (http.DefaultClient when nil).
	HTTP *http.Client
	// IdleTimeout bounds the wait for the answer's headers and for each
	// chunk after them. Default 30 s.
	IdleTimeout time.Duration
}

// Stream asks for a completion and streams it: onText receives each piece
// of the reply's text as it arrives (may be nil). It returns the whole
// reply, with tool calls assembled from their streamed pieces.
func (c *Client) Stream(ctx context.Context, req Request, onText func(string)) (Reply, error) {
	req.Model, req.Stream = c.Model, true
	body, err := json.Marshal(req)
	if err != nil {
		return Reply{}, err
	}
	idle := c.IdleTimeout
	if idle <= 0 {
		idle = 30 * time.Second
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(idle, func() { cancel(ErrIdle) })
	defer watchdog.Stop()

	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return Reply{}, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "text/event-stream")
	if c.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(hr)
	if err != nil {
		return Reply{}, cause(ctx, err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return Reply{}, statusError(res)
	}
	watchdog.Reset(idle)
	r := &activity{r: res.Body, touch: func() { watchdog.Reset(idle) }}
	reply, err := parseStream(r, onText)
	if err != nil {
		return reply, cause(ctx, err)
	}
	return reply, nil
}

// cause prefers the reason the context was cancelled (ErrIdle) to the
// transport's error.
func cause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil {
		return c
	}
	return err
}

// activity restarts the idle timer whenever data arrives.
type activity struct {
	r     io.Reader
	touch func()
}

func (a *activity) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.touch()
	}
	return n, err
}

// statusError reads an error answer: the OpenAI shape {"error":{"message",
// "type"}} when it is one, else the start of the body.
func statusError(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var env struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	e := &APIError{Status: res.StatusCode}
	if json.Unmarshal(b, &env) == nil && env.Error.Message != "" {
		e.Message, e.Type = env.Error.Message, env.Error.Type
	} else {
		e.Message = strings.TrimSpace(string(b[:min(len(b), 200)]))
		if e.Message == "" {
			e.Message = http.StatusText(res.StatusCode)
		}
	}
	return e
}

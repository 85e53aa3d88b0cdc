// Package llmtest is a small OpenAI-compatible chat-completions server for
// tests: it streams scripted replies (text in pieces, tool calls in
// pieces) in the documented wire format, and can fail or die mid-stream.
package llmtest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/voxgate/voxgate/llm"
)

// Reply is what the server answers to one request.
type Reply struct {
	// Text is streamed in pieces of PieceLen bytes (default 8).
	Text     string
	PieceLen int
	// ToolCalls are streamed after the text, their arguments in pieces.
	ToolCalls []llm.ToolCall
	// Status, when not 0 or 200, answers with this status and an OpenAI
	// error object carrying Error instead of a stream.
	Status int
	Error  string
	// DieAfter, when > 0, closes the connection after that many chunks,
	// without finish reason or [DONE].
	DieAfter int
	// Hold, when set, is waited on before the first chunk (a slow server).
	Hold <-chan struct{}
}

// Server is a running test endpoint. Its base URL is URL + "/v1".
type Server struct {
	URL string
	// Respond chooses the reply to each request (default: "OK.").
	Respond func(req llm.Request) Reply

	mu       sync.Mutex
	requests []llm.Request
}

// Start runs a server on a loopback port until t ends.
func Start(t testing.TB, respond func(req llm.Request) Reply) *Server {
	t.Helper()
	s := &Server{Respond: respond}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.Listener = l
	ts.Start()
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// BaseURL is the endpoint's base, as an agent's llm.base_url.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Requests returns the requests received so far.
func (s *Server) Requests() []llm.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]llm.Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
		return
	}
	var req llm.Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	rep := Reply{Text: "OK."}
	if s.Respond != nil {
		rep = s.Respond(req)
	}
	if rep.Status != 0 && rep.Status != http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.Status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": rep.Error, "type": "server_error"}})
		return
	}
	if rep.Hold != nil {
		select {
		case <-rep.Hold:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	sent := 0
	send := func(delta map[string]any, finish any) bool {
		if rep.DieAfter > 0 && sent == rep.DieAfter {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
			return false
		}
		sent++
		b, _ := json.Marshal(map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": req.Model,
			"choices": []map[string]any{{"index": 0, "delta": delta, "finish_reason": finish}}})
		fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
		return true
	}
	if !send(map[string]any{"role": "assistant", "content": ""}, nil) {
		return
	}
	n := rep.PieceLen
	if n <= 0 {
		n = 8
	}
	for i := 0; i < len(rep.Text); i += n {
		if !send(map[string]any{"content": rep.Text[i:min(i+n, len(rep.Text))]}, nil) {
			return
		}
	}
	for i, tc := range rep.ToolCalls {
		args := tc.Function.Arguments
		first := map[string]any{"index": i, "id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Function.Name, "arguments": ""}}
		if !send(map[string]any{"tool_calls": []any{first}}, nil) {
			return
		}
		for j := 0; j < len(args); j += n {
			piece := map[string]any{"index": i, "function": map[string]any{"arguments": args[j:min(j+n, len(args))]}}
			if !send(map[string]any{"tool_calls": []any{piece}}, nil) {
				return
			}
		}
	}
	finish := "stop"
	if len(rep.ToolCalls) > 0 {
		finish = "tool_calls"
	}
	if !send(map[string]any{}, finish) {
		return
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
}

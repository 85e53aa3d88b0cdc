package llm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voxgate/voxgate/llm"
	"github.com/voxgate/voxgate/llm/llmtest"
)

func client(s *llmtest.Server) *llm.Client {
	return &llm.Client{BaseURL: s.BaseURL(), Model: "test-model", APIKey: "sk-test", IdleTimeout: 5 * time.Second}
}

func ask(text string) llm.Request {
	return llm.Request{Messages: []llm.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: text}}}
}

func TestStreamsTextInPieces(t *testing.T) {
	srv := llmtest.Start(t, func(req llm.Request) llmtest.Reply {
		return llmtest.Reply{Text: "Hello there. How can I help you today?", PieceLen: 5}
	})
	var pieces []string
	reply, err := client(srv).Stream(context.Background(), ask("hi"), func(s string) { pieces = append(pieces, s) })
	if err != nil {
		t.Fatal(err)
	}
	if reply.Content != "Hello there. How can I help you today?" || reply.FinishReason != "stop" || len(reply.ToolCalls) != 0 {
		t.Fatalf("reply %+v", reply)
	}
	if len(pieces) != 8 || strings.Join(pieces, "") != reply.Content {
		t.Fatalf("pieces %q", pieces)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Model != "test-model" || !reqs[0].Stream || reqs[0].Messages[1].Content != "hi" {
		t.Fatalf("request %+v", reqs)
	}
}

func TestAssemblesStreamedToolCalls(t *testing.T) {
	calls := []llm.ToolCall{
		{ID: "call_1", Type: "function", Function: llm.FunctionCall{Name: "lookup_order", Arguments: `{"order_id":"42","verbose":true}`}},
		{ID: "call_2", Type: "function", Function: llm.FunctionCall{Name: "transfer", Arguments: `{}`}},
	}
	srv := llmtest.Start(t, func(req llm.Request) llmtest.Reply {
		if len(req.Tools) != 1 || req.Tools[0].Function.Name != "lookup_order" {
			return llmtest.Reply{Status: 400, Error: "tools missing"}
		}
		return llmtest.Reply{Text: "Let me check.", ToolCalls: calls, PieceLen: 4}
	})
	req := ask("where is my order 42")
	req.Tools = []llm.Tool{{Type: "function", Function: llm.Function{Name: "lookup_order", Parameters: []byte(`{"type":"object"}`)}}}
	reply, err := client(srv).Stream(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reply.FinishReason != "tool_calls" || reply.Content != "Let me check." || len(reply.ToolCalls) != 2 {
		t.Fatalf("reply %+v", reply)
	}
	for i, c := range calls {
		if reply.ToolCalls[i] != c {
			t.Errorf("call %d = %+v, want %+v", i, reply.ToolCalls[i], c)
		}
	}
}

func TestErrors(t *testing.T) {
	srv := llmtest.Start(t, func(req llm.Request) llmtest.Reply {
		switch req.Messages[len(req.Messages)-1].Content {
		case "unauthorized":
			return llmtest.Reply{Status: 401, Error: "Incorrect API key provided"}
		case "die":
			return llmtest.Reply{Text: "This answer will never", PieceLen: 4, DieAfter: 3}
		}
		return llmtest.Reply{Text: "fine"}
	})
	c := client(srv)
	_, err := c.Stream(context.Background(), ask("unauthorized"), nil)
	var ae *llm.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Message != "Incorrect API key provided" {
		t.Fatalf("401: %v", err)
	}
	reply, err := c.Stream(context.Background(), ask("die"), nil)
	if !errors.Is(err, llm.ErrIncomplete) || reply.Content != "This ans" {
		t.Fatalf("died mid-stream: %q, %v", reply.Content, err)
	}
	// The server is unreachable.
	dead := &llm.Client{BaseURL: "http://127.0.0.1:1/v1", Model: "m"}
	if _, err := dead.Stream(context.Background(), ask("hi"), nil); err == nil {
		t.Fatal("no error from a closed port")
	}
}

func TestIdleTimeout(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	srv := llmtest.Start(t, func(req llm.Request) llmtest.Reply { return llmtest.Reply{Text: "late", Hold: hold} })
	c := client(srv)
	c.IdleTimeout = 100 * time.Millisecond
	if _, err := c.Stream(context.Background(), ask("hi"), nil); !errors.Is(err, llm.ErrIdle) {
		t.Fatalf("silent server: %v, want ErrIdle", err)
	}
}

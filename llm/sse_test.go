package llm

import (
	"errors"
	"strings"
	"testing"
)

func TestParseStreamCases(t *testing.T) {
	for _, c := range []struct {
		name, in string
		text     string
		err      error
	}{
		{"done", "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n", "Hi", nil},
		{"crlf and comments", ": keep-alive\r\n\r\nevent: x\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n", "A", nil},
		{"finish without done", "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"B\"},\"finish_reason\":\"stop\"}]}\n\n", "B", nil},
		{"cut", "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"C\"}}]}\n\ndata: {\"cho", "C", ErrIncomplete},
		{"other choices ignored", "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"X\"}}]}\n\ndata: [DONE]\n\n", "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := parseStream(strings.NewReader(c.in), nil)
			if r.Content != c.text || !errors.Is(err, c.err) {
				t.Fatalf("got %q, %v; want %q, %v", r.Content, err, c.text, c.err)
			}
		})
	}
	_, err := parseStream(strings.NewReader("data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n"), nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Message != "overloaded" {
		t.Fatalf("error chunk: %v", err)
	}
	if _, err := parseStream(strings.NewReader("data: not json\n\n"), nil); err == nil {
		t.Fatal("malformed chunk accepted")
	}
	if _, err := parseStream(strings.NewReader("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":9999}]}}]}\n\n"), nil); err == nil {
		t.Fatal("tool call index 9999 accepted")
	}
}

// FuzzParseStream feeds arbitrary bytes to the stream parser: it must not
// panic, and the text it reports in pieces must be the reply's text.
func FuzzParseStream(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}}]}\n\n"))
	f.Add([]byte(": x\r\ndata: [DONE]\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var b strings.Builder
		r, _ := parseStream(strings.NewReader(string(in)), func(s string) { b.WriteString(s) })
		if b.String() != r.Content {
			t.Fatalf("pieces %q, content %q", b.String(), r.Content)
		}
		if len(r.ToolCalls) > maxToolCalls {
			t.Fatalf("%d tool calls", len(r.ToolCalls))
		}
	})
}

package llm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits on what a stream may make the client hold.
const (
	maxLine      = 1 << 20 // one SSE line
	maxReply     = 1 << 20 // the reply's text and each call's arguments
	maxToolCalls = 64
)

// chunk is one streamed chat.completion.chunk (or an error object).
type chunk struct {
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content   *string `json:"content"`
			ToolCalls []struct {
				Index    int    `json:"index"`
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Error *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error"`
}

// parseStream reads server-sent events of chat completion chunks up to
// "data: [DONE]" and assembles the reply of choice 0. A stream that ends
// without [DONE] is complete only if a finish reason came.
func parseStream(r io.Reader, onText func(string)) (Reply, error) {
	var (
		reply Reply
		b     strings.Builder
		data  bytes.Buffer
		has   bool // data lines since the last dispatch
	)
	br := bufio.NewReaderSize(r, 4096)
	for {
		line, err := readLine(br)
		if err != nil {
			reply.Content = b.String()
			if reply.FinishReason != "" {
				return reply, nil
			}
			if errors.Is(err, io.EOF) {
				return reply, ErrIncomplete
			}
			return reply, fmt.Errorf("%w: %w", ErrIncomplete, err)
		}
		switch {
		case len(line) == 0: // dispatch the event
			if !has {
				continue
			}
			payload := bytes.TrimSpace(data.Bytes())
			data.Reset()
			has = false
			if string(payload) == "[DONE]" {
				reply.Content = b.String()
				return reply, nil
			}
			if err := apply(payload, &reply, &b, onText); err != nil {
				reply.Content = b.String()
				return reply, err
			}
		case line[0] == ':': // comment (keep-alive)
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			if string(field) != "data" {
				continue // event, id, retry: not used by this protocol
			}
			value = bytes.TrimPrefix(value, []byte(" "))
			if has {
				data.WriteByte('\n')
			}
			if data.Len()+len(value) > maxLine {
				return reply, errors.New("llm: event too large")
			}
			data.Write(value)
			has = true
		}
	}
}

// readLine returns the next line without its end (\n or \r\n).
func readLine(br *bufio.Reader) ([]byte, error) {
	var long []byte
	for {
		part, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(part) > maxLine {
				return nil, errors.New("llm: line too long")
			}
			long = append(long, part...)
			continue
		}
		if err != nil {
			if len(part) > 0 || len(long) > 0 {
				// A last line without its end: the stream was cut.
				return nil, io.EOF
			}
			return nil, err
		}
		if long != nil {
			part = append(long, part...)
		}
		part = part[:len(part)-1]
		return bytes.TrimSuffix(part, []byte("\r")), nil
	}
}

// apply adds one chunk to the reply.
func apply(payload []byte, reply *Reply, b *strings.Builder, onText func(string)) error {
	var c chunk
	if err := json.Unmarshal(payload, &c); err != nil {
		return fmt.Errorf("llm: malformed chunk: %w", err)
	}
	if c.Error != nil {
		return &APIError{Type: c.Error.Type, Message: c.Error.Message}
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue
		}
		if d := ch.Delta.Content; d != nil && *d != "" {
			if b.Len()+len(*d) > maxReply {
				return errors.New("llm: reply too long")
			}
			b.WriteString(*d)
			if onText != nil {
				onText(*d)
			}
		}
		for _, tc := range ch.Delta.ToolCalls {
			if tc.Index < 0 || tc.Index >= maxToolCalls {
				return fmt.Errorf("llm: tool call index %d out of range", tc.Index)
			}
			for len(reply.ToolCalls) <= tc.Index {
				reply.ToolCalls = append(reply.ToolCalls, ToolCall{Type: "function"})
			}
			call := &reply.ToolCalls[tc.Index]
			if tc.ID != "" {
				call.ID = tc.ID
			}
			if tc.Type != "" {
				call.Type = tc.Type
			}
			if call.Function.Name == "" { // sent whole, in the call's first piece
				call.Function.Name = tc.Function.Name
			}
			if len(call.Function.Arguments)+len(tc.Function.Arguments) > maxReply {
				return errors.New("llm: tool call arguments too long")
			}
			call.Function.Arguments += tc.Function.Arguments
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			reply.FinishReason = *ch.FinishReason
		}
	}
	return nil
}

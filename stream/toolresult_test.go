package stream

import "testing"

func TestDecodeToolResult(t *testing.T) {
	m, _, err := DecodeMessage([]byte(`{"type":"tool.result","tool_call_id":"call_1","result":{"status":"shipped"}}`))
	if err != nil || m.ToolCallID != "call_1" || toolResult(m.Result) != `{"status":"shipped"}` {
		t.Fatalf("%+v %v", m, err)
	}
	m, _, err = DecodeMessage([]byte(`{"type":"tool.result","tool_call_id":"call_2","result":"it shipped"}`))
	if err != nil || toolResult(m.Result) != "it shipped" {
		t.Fatalf("string result: %+v %v", m, err)
	}
	if _, _, err := DecodeMessage([]byte(`{"type":"tool.result","result":1}`)); err == nil {
		t.Fatal("tool.result without tool_call_id accepted")
	}
}

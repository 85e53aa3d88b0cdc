package analysis

import (
	"fmt"
	"testing"
)

// BenchmarkCompute analyses an hour-long call: 1200 turns of about 15
// words, alternating sides with a second's gap.
func BenchmarkCompute(b *testing.B) {
	turns := make([]Turn, 1200)
	for i := range turns {
		spk := Customer
		if i%2 == 1 {
			spk = Agent
		}
		start := int64(i) * 3000
		turns[i] = Turn{Sequence: i + 1, Speaker: spk, StartMS: start, EndMS: start + 2000,
			Text: fmt.Sprintf("Thank you, the order %d is delayed but the refund should appear within five business days, sorry.", i)}
	}
	in := Input{Turns: turns, DurationMS: 3_600_000, Required: []string{"this call may be recorded"}, Forbidden: []string{"guaranteed"}}
	b.ReportAllocs()
	for b.Loop() {
		Compute(in)
	}
}

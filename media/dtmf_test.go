package media

import (
	"bytes"
	"testing"
)

func TestTelephoneEventRoundTrip(t *testing.T) {
	e := TelephoneEvent{Event: 11, End: true, Volume: 10, Duration: 800}
	b := e.Append(nil)
	if !bytes.Equal(b, []byte{11, 0x8a, 0x03, 0x20}) {
		t.Fatalf("marshal: % x", b)
	}
	var got TelephoneEvent
	if err := got.Unmarshal(b); err != nil || got != e {
		t.Fatalf("unmarshal: %+v %v", got, err)
	}
	if err := got.Unmarshal(b[:3]); err != ErrShortEvent {
		t.Fatalf("short: %v", err)
	}
}

// receive feeds generated packets (minus the dropped indexes) to a receiver.
func receive(t *testing.T, digits string, drop map[int]bool) string {
	pkts, err := GenerateDTMF(digits, 8000, 10)
	if err != nil {
		t.Fatal(err)
	}
	var r DTMFReceiver
	var got []byte
	for i, p := range pkts {
		if drop[i] {
			continue
		}
		if d, ok := r.Push(1000+p.TimestampOffset, p.Payload[:]); ok {
			got = append(got, d)
		}
	}
	return string(got)
}

func TestDTMFDigitsOncePerEvent(t *testing.T) {
	if got := receive(t, "0123456789*#ABCD", nil); got != "0123456789*#ABCD" {
		t.Fatalf("got %q", got)
	}
	// Repeated digits are separate events (new timestamps).
	if got := receive(t, "7777", nil); got != "7777" {
		t.Fatalf("repeated: %q", got)
	}
	// The start packet of the second digit is lost (index 8 = 5 updates + 3 ends).
	if got := receive(t, "12", map[int]bool{8: true}); got != "12" {
		t.Fatalf("lost start: %q", got)
	}
	// Only the end packets of a digit arrive.
	if got := receive(t, "9", map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true}); got != "9" {
		t.Fatalf("only ends: %q", got)
	}
	// An end packet of the first digit reordered after the second began.
	pkts, _ := GenerateDTMF("12", 8000, 10)
	var r DTMFReceiver
	var got []byte
	for _, i := range []int{0, 8, 7, 9, 15} {
		if d, ok := r.Push(pkts[i].TimestampOffset, pkts[i].Payload[:]); ok {
			got = append(got, d)
		}
	}
	if string(got) != "12" {
		t.Fatalf("reordered end: %q", got)
	}
	if _, err := GenerateDTMF("1x", 8000, 10); err == nil {
		t.Fatal("accepted x")
	}
	pkts, _ = GenerateDTMF("5", 8000, 10)
	if !pkts[0].Marker || pkts[1].Marker || len(pkts) != 8 {
		t.Fatalf("packets: %+v", pkts)
	}
}

func FuzzDTMFReceiver(f *testing.F) {
	f.Add(uint32(0), []byte{1, 0x0a, 0, 160})
	f.Add(uint32(99), []byte{200, 0xff, 0xff, 0xff})
	f.Add(uint32(7), []byte{})
	f.Fuzz(func(t *testing.T, ts uint32, payload []byte) {
		var e TelephoneEvent
		if e.Unmarshal(payload) == nil {
			// Marshal gives the payload back, less the reserved bit.
			if b := e.Append(nil); !bytes.Equal(b, []byte{payload[0], payload[1] &^ 0x40, payload[2], payload[3]}) {
				t.Fatalf("round trip % x -> % x", payload[:4], b)
			}
		}
		var r DTMFReceiver
		if d, ok := r.Push(ts, payload); ok && d == 0 {
			t.Fatal("reported a zero digit")
		}
		if _, ok := r.Push(ts, payload); ok {
			t.Fatal("the same packet twice gave two digits")
		}
	})
}

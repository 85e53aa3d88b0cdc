package sip

import "testing"

func TestParseDTMFRelay(t *testing.T) {
	for _, tc := range []struct {
		body  string
		digit byte
		ms    int
		ok    bool
	}{
		{"Signal=5\r\nDuration=160\r\n", '5', 160, true},
		{"signal = a\nduration=abc", 'A', 0, true},
		{"Signal=*", '*', 0, true},
		{"Signal=55\r\nDuration=100", 0, 100, false},
		{"Signal=x", 0, 0, false},
		{"", 0, 0, false},
	} {
		d, ms, ok := parseDTMFRelay([]byte(tc.body))
		if d != tc.digit || ms != tc.ms || ok != tc.ok {
			t.Errorf("%q: %q %d %v", tc.body, d, ms, ok)
		}
	}
}

func FuzzParseDTMFRelay(f *testing.F) {
	f.Add([]byte("Signal=5\r\nDuration=160\r\n"))
	f.Add([]byte("Signal=#\nDuration=-1"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if d, _, ok := parseDTMFRelay(body); ok && d == 0 {
			t.Fatal("ok without a digit")
		}
	})
}

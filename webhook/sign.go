package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// DefaultSignatureHeader carries the signature unless an endpoint names
// another header (Kallglot-Signature for receivers written for Kallglot).
const DefaultSignatureHeader = "Voxgate-Signature"

// Tolerance is how far a signature's timestamp may be from the receiver's
// clock before the receiver rejects it (SPEC §3).
const Tolerance = 300 * time.Second

// Sign returns the signature header value for body sent at t:
// "t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>", with one v1 per
// secret (two during a rotation window).
func Sign(t time.Time, body []byte, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(mac(s, ts, body))
	}
	return b.String()
}

func mac(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhook: no valid signature")
	ErrStale        = errors.New("webhook: signature timestamp outside the tolerance")
)

// Verify checks a signature header as a receiver does: a t= timestamp within
// Tolerance of now and a v1= signature made with secret over "<t>.<body>".
func Verify(header string, body []byte, secret string, now time.Time) error {
	var (
		ts   string
		sigs []string
	)
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return ErrStale
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}

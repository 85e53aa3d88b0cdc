// Package id makes the gateway's prefixed, sortable identifiers
// ("sess_01JD3…"): a type prefix, an underscore and a 26-character ULID whose
// first 48 bits are the creation time in milliseconds. IDs made by one process
// sort in creation order, even within one millisecond.
package id

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// Prefixes of every resource ID, as listed in the API conventions.
const (
	Session         = "sess"
	Call            = "call"
	Agent           = "agt"
	Recording       = "rec"
	Analysis        = "anl"
	StreamToken     = "kst"
	APIKey          = "key"
	WebhookEndpoint = "wh"
	WebhookDelivery = "wh_del"
	Event           = "evt"
	PhoneNumber     = "pn"
	SIPTrunk        = "trk"
	Request         = "req"
	Organization    = "org"
	Transcript      = "trn"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Generator makes monotonic ULIDs. The zero value is not usable; use NewGenerator.
type Generator struct {
	mu      sync.Mutex
	now     func() time.Time
	lastMS  uint64
	lastRnd [10]byte
}

// NewGenerator returns a generator reading time from now (time.Now when nil).
func NewGenerator(now func() time.Time) *Generator {
	if now == nil {
		now = time.Now
	}
	return &Generator{now: now}
}

var std = NewGenerator(nil)

// New returns prefix + "_" + a new ULID from the process-wide generator.
func New(prefix string) string { return std.New(prefix) }

// New returns prefix + "_" + a new ULID.
func (g *Generator) New(prefix string) string {
	var raw [16]byte
	g.mu.Lock()
	ms := uint64(g.now().UnixMilli())
	if ms <= g.lastMS {
		// Same (or earlier) millisecond: keep the last time and increment the
		// random part so the ID still sorts after the previous one.
		ms = g.lastMS
		for i := len(g.lastRnd) - 1; i >= 0; i-- {
			g.lastRnd[i]++
			if g.lastRnd[i] != 0 {
				break
			}
		}
	} else {
		g.lastMS = ms
		if _, err := rand.Read(g.lastRnd[:]); err != nil {
			panic("id: crypto/rand failed: " + err.Error())
		}
		g.lastRnd[0] &= 0x7f // leave room to increment within the millisecond
	}
	binary.BigEndian.PutUint16(raw[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(raw[2:6], uint32(ms))
	copy(raw[6:], g.lastRnd[:])
	g.mu.Unlock()

	var b strings.Builder
	b.Grow(len(prefix) + 27)
	b.WriteString(prefix)
	b.WriteByte('_')
	b.WriteString(encode(raw))
	return b.String()
}

// encode writes 128 bits as 26 Crockford base32 characters.
func encode(raw [16]byte) string {
	hi := binary.BigEndian.Uint64(raw[0:8])
	lo := binary.BigEndian.Uint64(raw[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// HasPrefix reports whether s looks like an ID of the given type: the prefix,
// an underscore and a 26-character ULID.
func HasPrefix(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(crockford, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// Time returns the creation time encoded in a valid ID.
func Time(s string) (time.Time, bool) {
	i := strings.LastIndexByte(s, '_')
	if i < 0 || len(s)-i-1 != 26 {
		return time.Time{}, false
	}
	var ms uint64
	for _, c := range s[i+1 : i+11] {
		v := strings.IndexRune(crockford, c)
		if v < 0 {
			return time.Time{}, false
		}
		ms = ms<<5 | uint64(v)
	}
	return time.UnixMilli(int64(ms)).UTC(), true
}

// Secret returns prefix followed by n random bytes in base32 (lowercase),
// for API keys, stream tokens and webhook secrets.
func Secret(prefix string, n int) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		panic("id: crypto/rand failed: " + err.Error())
	}
	alphabet := strings.ToLower(crockford)
	var b strings.Builder
	b.Grow(len(prefix) + n*8/5 + 1)
	b.WriteString(prefix)
	var acc uint32
	bits := 0
	for _, x := range buf {
		acc = acc<<8 | uint32(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			b.WriteByte(alphabet[(acc>>bits)&31])
		}
	}
	if bits > 0 {
		b.WriteByte(alphabet[(acc<<(5-bits))&31])
	}
	return b.String()
}

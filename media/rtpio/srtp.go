package rtpio

import (
	"fmt"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// SRTPKeys are a stream's SDES master keys and salts (RFC 4568): the ones
// it encrypts with and the ones the peer encrypts with.
type SRTPKeys struct {
	Profile               srtp.ProtectionProfile
	LocalKey, LocalSalt   []byte
	RemoteKey, RemoteSalt []byte
}

// srtpPair encrypts what the stream sends and decrypts what it receives.
type srtpPair struct {
	outMu sync.Mutex // RTP (the writer) and RTCP (housekeeping) share it
	out   *srtp.Context
	inMu  sync.Mutex // RTP and RTCP readers share it
	in    *srtp.Context
}

// SetSRTP encrypts the stream from now on with keys; packets that do not
// authenticate are dropped (counted as invalid).
func (c *Conn) SetSRTP(keys SRTPKeys) error {
	out, err := srtp.CreateContext(keys.LocalKey, keys.LocalSalt, keys.Profile)
	if err != nil {
		return fmt.Errorf("rtpio: local SRTP key: %w", err)
	}
	in, err := srtp.CreateContext(keys.RemoteKey, keys.RemoteSalt, keys.Profile)
	if err != nil {
		return fmt.Errorf("rtpio: remote SRTP key: %w", err)
	}
	c.srtp.Store(&srtpPair{out: out, in: in})
	return nil
}

// Secure reports whether the stream is encrypted.
func (c *Conn) Secure() bool { return c.srtp.Load() != nil }

// protectRTP encrypts a marshalled RTP packet into dst (no allocation when
// dst has room for the packet and its tag).
func (p *srtpPair) protectRTP(dst, pkt []byte, h *rtp.Header) ([]byte, error) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	return p.out.EncryptRTP(dst[:0], pkt, h)
}

// protectRTCP encrypts a marshalled RTCP compound packet.
func (p *srtpPair) protectRTCP(pkt []byte) ([]byte, error) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	return p.out.EncryptRTCP(nil, pkt, nil)
}

// unprotect decrypts a received RTP or RTCP packet into dst.
func (p *srtpPair) unprotect(dst, pkt []byte) ([]byte, error) {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	if IsRTCP(pkt) {
		return p.in.DecryptRTCP(dst[:0], pkt, nil)
	}
	return p.in.DecryptRTP(dst[:0], pkt, nil)
}

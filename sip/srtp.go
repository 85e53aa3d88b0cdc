package sip

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"

	"github.com/voxgate/voxgate/media/rtpio"
)

// Crypto is an SDES a=crypto attribute (RFC 4568): a suite and its inline
// master key and salt.
type Crypto struct {
	Tag   int
	Suite string
	Key   []byte // master key (16 bytes) then salt (14 bytes)
}

// cryptoSuites are the SDES suites voxgate speaks, by their SDP name.
var cryptoSuites = map[string]srtp.ProtectionProfile{
	"AES_CM_128_HMAC_SHA1_80": srtp.ProtectionProfileAes128CmHmacSha1_80,
	"AES_CM_128_HMAC_SHA1_32": srtp.ProtectionProfileAes128CmHmacSha1_32,
}

const masterKeyLen, masterSaltLen = 16, 14

// parseCrypto reads "tag suite inline:key[|lifetime][|mki] [params]"; false
// for a suite voxgate does not speak or a malformed line.
func parseCrypto(arg string) (Crypto, bool) {
	f := strings.Fields(arg)
	if len(f) < 3 || !strings.HasPrefix(f[2], "inline:") {
		return Crypto{}, false
	}
	tag, err := strconv.Atoi(f[0])
	if _, ok := cryptoSuites[f[1]]; err != nil || !ok || tag < 0 {
		return Crypto{}, false
	}
	key, _, _ := strings.Cut(strings.TrimPrefix(f[2], "inline:"), "|")
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(raw) != masterKeyLen+masterSaltLen {
		return Crypto{}, false
	}
	return Crypto{Tag: tag, Suite: f[1], Key: raw}, true
}

// NewCrypto makes a fresh key for the suite, under the offer's tag.
func NewCrypto(tag int, suite string) Crypto {
	key := make([]byte, masterKeyLen+masterSaltLen)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	return Crypto{Tag: tag, Suite: suite, Key: key}
}

// attribute is the a=crypto line's value.
func (c Crypto) attribute() string {
	return fmt.Sprintf("%d %s inline:%s", c.Tag, c.Suite, base64.StdEncoding.EncodeToString(c.Key))
}

// SRTPKeys pairs the key a side sends with and the one its peer sends with.
func SRTPKeys(local, remote Crypto) rtpio.SRTPKeys {
	return rtpio.SRTPKeys{Profile: cryptoSuites[local.Suite],
		LocalKey: local.Key[:masterKeyLen], LocalSalt: local.Key[masterKeyLen:],
		RemoteKey: remote.Key[:masterKeyLen], RemoteSalt: remote.Key[masterKeyLen:]}
}

// Secure reports whether the audio is offered over SRTP (RTP/SAVP).
func (s SDP) Secure() bool { return strings.Contains(s.Proto, "SAVP") }

// SecureSDP turns a plain description into SRTP with the crypto attribute.
func SecureSDP(sdp []byte, c Crypto) []byte {
	out := bytes.Replace(sdp, []byte(" RTP/AVP"), []byte(" RTP/SAVP"), 1)
	return bytes.Replace(out, []byte("a=ptime:"), []byte("a=crypto:"+c.attribute()+"\r\na=ptime:"), 1)
}

// ErrSRTPPolicy means an offer's media security does not meet the trunk's
// srtp setting (or offers no suite voxgate speaks).
var ErrSRTPPolicy = fmt.Errorf("sip: media security does not match the trunk's srtp setting")

// secureAnswer applies a trunk's srtp policy to an offer: nil crypto for
// plain RTP, else the offer's chosen crypto and the key to answer with.
func secureAnswer(policy string, offer SDP) (remote, local *Crypto, err error) {
	if !offer.Secure() {
		if policy == "require" {
			return nil, nil, ErrSRTPPolicy
		}
		return nil, nil, nil
	}
	if policy != "allow" && policy != "require" || len(offer.Crypto) == 0 {
		return nil, nil, ErrSRTPPolicy
	}
	r := offer.Crypto[0]
	l := NewCrypto(r.Tag, r.Suite)
	return &r, &l, nil
}

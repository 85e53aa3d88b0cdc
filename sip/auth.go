package sip

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/voxgate/voxgate/session"
)

const (
	// realm names voxgate in digest challenges.
	realm = "voxgate"
	// nonceLifetime is how long a challenge's nonce is accepted.
	nonceLifetime = 5 * time.Minute
)

// nonces issues and checks stateless digest nonces: the issue time and an
// HMAC of it under a secret made at startup.
type nonces struct {
	secret [32]byte
	now    func() time.Time
}

func newNonces() *nonces {
	n := &nonces{now: time.Now}
	_, _ = rand.Read(n.secret[:])
	return n
}

func (n *nonces) sign(ts string) string {
	mac := hmac.New(sha256.New, n.secret[:])
	mac.Write([]byte(ts))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// issue returns a fresh nonce.
func (n *nonces) issue() string {
	ts := strconv.FormatInt(n.now().Unix(), 16)
	return ts + "." + n.sign(ts)
}

// check reports whether nonce is one of ours and whether it has expired.
func (n *nonces) check(nonce string) (ours, stale bool) {
	ts, mac, ok := strings.Cut(nonce, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(mac), []byte(n.sign(ts))) != 1 {
		return false, false
	}
	sec, err := strconv.ParseInt(ts, 16, 64)
	if err != nil {
		return false, false
	}
	return true, n.now().Sub(time.Unix(sec, 0)) > nonceLifetime
}

// challenge is a 401's WWW-Authenticate header (MD5, qop=auth).
func (n *nonces) challenge(stale bool) sipmsg.Header {
	c := digest.Challenge{Realm: realm, Nonce: n.issue(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return sipmsg.NewHeader("WWW-Authenticate", c.String())
}

// authVerdict is what an INVITE's Authorization header earns it.
type authVerdict int

const (
	authNone      authVerdict = iota // no usable credentials: challenge
	authStale                        // right credentials, expired nonce: challenge again
	authOK                           // a trunk's credentials
	authForbidden                    // wrong credentials
)

// authenticate checks req's digest credentials against the trunks that have
// a username and password.
func (n *nonces) authenticate(req *sipmsg.Request, trunks []session.Trunk) (session.Trunk, authVerdict) {
	h := req.GetHeader("Authorization")
	if h == nil {
		return session.Trunk{}, authNone
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Realm != realm || !strings.EqualFold(cmp.Or(cred.Algorithm, "MD5"), "MD5") {
		return session.Trunk{}, authNone
	}
	ours, stale := n.check(cred.Nonce)
	if !ours {
		return session.Trunk{}, authNone
	}
	for _, t := range trunks {
		if t.Username == "" || t.Password == "" || t.Username != cred.Username {
			continue
		}
		chal := &digest.Challenge{Realm: realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm}
		if cred.QOP != "" {
			chal.QOP = []string{cred.QOP}
		}
		want, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: cred.URI,
			Username: t.Username, Password: t.Password, Cnonce: cred.Cnonce, Count: cred.Nc})
		if err != nil || subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) != 1 {
			continue
		}
		if stale {
			return session.Trunk{}, authStale
		}
		return t, authOK
	}
	return session.Trunk{}, authForbidden
}

package rtpio

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/pion/srtp/v3"

	"github.com/voxgate/voxgate/media"
)

// srtpKeys are a pair of streams' keys: a's are b's swapped.
func srtpKeys() (a, b SRTPKeys) {
	k1, s1 := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 14)
	k2, s2 := bytes.Repeat([]byte{3}, 16), bytes.Repeat([]byte{4}, 14)
	p := srtp.ProtectionProfileAes128CmHmacSha1_80
	return SRTPKeys{Profile: p, LocalKey: k1, LocalSalt: s1, RemoteKey: k2, RemoteSalt: s2},
		SRTPKeys{Profile: p, LocalKey: k2, LocalSalt: s2, RemoteKey: k1, RemoteSalt: s1}
}

// TestSRTP: frames cross encrypted (the payload is not on the wire), arrive
// intact, and a plain RTP packet to an encrypted stream is dropped.
func TestSRTP(t *testing.T) {
	a, b := pcmu(t, Config{MediaTimeout: -1}), pcmu(t, Config{MediaTimeout: -1})
	ka, kb := srtpKeys()
	if err := a.SetSRTP(ka); err != nil {
		t.Fatal(err)
	}
	if err := b.SetSRTP(kb); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("plain audio "), 14)[:160]
	// On the wire: what a sends, read by a bare socket.
	wire, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer wire.Close()
	a.SetRemote(wire.LocalAddr().(*net.UDPAddr).AddrPort())
	if err := a.WriteFrame(media.Frame{Payload: payload}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = wire.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := wire.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf[:n], payload[:16]) || n != 12+160+10 {
		t.Fatalf("the packet on the wire (%d bytes) is not SRTP", n)
	}
	// To b: decrypted, whole.
	a.SetRemote(b.LocalAddr())
	go func() {
		for range 5 {
			_ = a.WriteFrame(media.Frame{Payload: payload})
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for _, f := range read(t, b, 5) {
		if f.Missing || !bytes.Equal(f.Payload, payload) {
			t.Fatalf("frame %+v", f)
		}
	}
	// Plain RTP to an SRTP stream does not authenticate.
	s := newSender(t, b.LocalAddr())
	before := b.Stats().Invalid
	s.send(0x1234, 0, 100, "not encrypted")
	deadline := time.Now().Add(2 * time.Second)
	for b.Stats().Invalid == before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if b.Stats().Invalid != before+1 {
		t.Fatal("a plain packet was not dropped by an SRTP stream")
	}
}

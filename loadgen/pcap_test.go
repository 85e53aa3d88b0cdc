package loadgen

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"testing"
	"time"
)

// The committed fixtures: each a call of about ten seconds, speech and then
// the digits 1234# as RFC 4733 events.
func TestFixtures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		codec     string
		pt        uint8
		clock     int
		frameStep uint32
	}{
		{"pcmu", "PCMU", 0, 8000, 160},
		{"pcma", "PCMA", 8, 8000, 160},
		{"g722", "G722", 9, 8000, 160},
		{"opus", "opus", 96, 48000, 960},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "../testdata/rtp/" + tc.name + ".pcap"
			if st, err := os.Stat(path); err != nil || st.Size() >= 1<<20 {
				t.Fatalf("%s: %v (must exist and be under 1 MB)", path, err)
			}
			fx, err := LoadFixture(path)
			if err != nil {
				t.Fatal(err)
			}
			if fx.Name != tc.name || fx.Format.Codec != tc.codec || fx.PayloadType != tc.pt || fx.ClockRate != tc.clock ||
				fx.FrameStep != tc.frameStep || fx.DTMFPayloadType != 101 {
				t.Fatalf("fixture %+v", fx)
			}
			var audio, events int
			for i, p := range fx.Packets {
				if p.DTMF {
					events++
				} else {
					audio++
				}
				if i > 0 && p.At < fx.Packets[i-1].At {
					t.Fatalf("packet %d goes back in time", i)
				}
			}
			// About ten seconds of 20 ms frames; five digits of events.
			if audio < 450 || audio > 550 || events < 25 || fx.Duration < 9*time.Second || fx.Duration > 11*time.Second {
				t.Fatalf("%d audio packets, %d events, %v", audio, events, fx.Duration)
			}
			if int(fx.SeqSpan) != len(fx.Packets) {
				t.Fatalf("sequence numbers span %d for %d packets: gaps in the capture", fx.SeqSpan, len(fx.Packets))
			}
			ref, err := referenceLevels(fx)
			if err != nil {
				t.Fatal(err)
			}
			speech := 0
			for _, l := range ref {
				if l > speechLevel {
					speech++
				}
			}
			if speech < 150 {
				t.Fatalf("only %d frames of speech in the fixture", speech)
			}
		})
	}
}

// pcapFile writes a capture of one UDP datagram in the given link type and
// byte order, with nanosecond timestamps when nano is set.
func pcapFile(bo binary.ByteOrder, nano bool, link uint32, frame []byte) []byte {
	var b bytes.Buffer
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	hdr := make([]byte, 24)
	bo.PutUint32(hdr[0:], magic)
	bo.PutUint16(hdr[4:], 2)
	bo.PutUint16(hdr[6:], 4)
	bo.PutUint32(hdr[16:], 65535)
	bo.PutUint32(hdr[20:], link)
	b.Write(hdr)
	rec := make([]byte, 16)
	bo.PutUint32(rec[0:], 1700000000)
	bo.PutUint32(rec[4:], 500)
	bo.PutUint32(rec[8:], uint32(len(frame)))
	bo.PutUint32(rec[12:], uint32(len(frame)))
	b.Write(rec)
	b.Write(frame)
	return b.Bytes()
}

// ipv4UDP is an IPv4 packet from 10.0.0.1:4000 to 10.0.0.2:5000.
func ipv4UDP(payload []byte) []byte {
	p := make([]byte, 28+len(payload))
	p[0], p[9] = 0x45, 17
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	copy(p[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(p[20:], 4000)
	binary.BigEndian.PutUint16(p[22:], 5000)
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(payload)))
	copy(p[28:], payload)
	return p
}

func TestReadPCAPLinkTypes(t *testing.T) {
	ip := ipv4UDP([]byte("hello"))
	eth := append(append(make([]byte, 12), 0x08, 0x00), ip...)
	sll := append(append(make([]byte, 14), 0x08, 0x00), ip...)
	sll2 := append(append([]byte{0x08, 0x00}, make([]byte, 18)...), ip...)
	null := append([]byte{2, 0, 0, 0}, ip...)
	vlan := append(append(make([]byte, 12), 0x81, 0x00, 0, 7, 0x08, 0x00), ip...)
	padded := append(append([]byte(nil), eth...), 0, 0, 0, 0) // Ethernet padding is not payload
	for _, tc := range []struct {
		name  string
		file  []byte
		nanos int
	}{
		{"ethernet", pcapFile(binary.LittleEndian, false, linkEthernet, eth), 500000},
		{"ethernet-vlan", pcapFile(binary.LittleEndian, false, linkEthernet, vlan), 500000},
		{"padded", pcapFile(binary.LittleEndian, false, linkEthernet, padded), 500000},
		{"sll big-endian nanoseconds", pcapFile(binary.BigEndian, true, linkSLL, sll), 500},
		{"sll2", pcapFile(binary.LittleEndian, false, linkSLL2, sll2), 500000},
		{"null", pcapFile(binary.LittleEndian, false, linkNull, null), 500000},
		{"raw", pcapFile(binary.LittleEndian, false, linkRaw, ip), 500000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadPCAP(bytes.NewReader(tc.file))
			if err != nil || len(got) != 1 {
				t.Fatalf("%v %v", got, err)
			}
			d := got[0]
			if string(d.Payload) != "hello" || d.Src != netip.MustParseAddrPort("10.0.0.1:4000") ||
				d.Dst != netip.MustParseAddrPort("10.0.0.2:5000") || d.Time.Unix() != 1700000000 || d.Time.Nanosecond() != tc.nanos {
				t.Fatalf("%+v", d)
			}
		})
	}
}

func TestReadPCAPRejects(t *testing.T) {
	good := pcapFile(binary.LittleEndian, false, linkEthernet, append(append(make([]byte, 12), 0x08, 0x00), ipv4UDP([]byte("x"))...))
	for name, b := range map[string][]byte{
		"empty":     nil,
		"pcapng":    append([]byte{0x0a, 0x0d, 0x0d, 0x0a}, make([]byte, 30)...),
		"link 105":  pcapFile(binary.LittleEndian, false, 105, []byte{1, 2, 3}),
		"truncated": good[:len(good)-3],
	} {
		if _, err := ReadPCAP(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A TCP packet and a fragment are skipped, not errors.
	tcp := ipv4UDP([]byte("x"))
	tcp[9] = 6
	frag := ipv4UDP([]byte("x"))
	frag[6] = 0x20 // more fragments
	for _, p := range [][]byte{tcp, frag} {
		got, err := ReadPCAP(bytes.NewReader(pcapFile(binary.LittleEndian, false, linkRaw, p)))
		if err != nil || len(got) != 0 {
			t.Fatalf("%v %v", got, err)
		}
	}
}

func FuzzReadPCAP(f *testing.F) {
	f.Add(pcapFile(binary.LittleEndian, false, linkEthernet, append(append(make([]byte, 12), 0x08, 0x00), ipv4UDP([]byte("x"))...)))
	f.Add(pcapFile(binary.BigEndian, true, linkSLL2, make([]byte, 40)))
	f.Fuzz(func(t *testing.T, b []byte) {
		grams, err := ReadPCAP(bytes.NewReader(b))
		if err == nil {
			_, _ = NewFixture(grams)
		}
	})
}

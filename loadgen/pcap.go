package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Datagram is one UDP datagram read from a capture.
type Datagram struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Payload  []byte
}

// maxSnap bounds a captured packet: larger records are a corrupt file.
const maxSnap = 262144

// Link types this reader understands (www.tcpdump.org/linktypes.html).
const (
	linkNull     = 0   // BSD loopback: 4-byte address family
	linkEthernet = 1   // tcpdump -i lo on Linux
	linkRaw      = 101 // raw IP
	linkSLL      = 113 // Linux "any" device
	linkIPv4     = 228
	linkIPv6     = 229
	linkSLL2     = 276
)

// ReadPCAP reads the UDP datagrams of a classic pcap file (microsecond or
// nanosecond timestamps, either byte order); anything else in it (TCP,
// fragments, other protocols) is skipped.
func ReadPCAP(r io.Reader) ([]Datagram, error) {
	var hdr [24]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("pcap: header: %w", err)
	}
	var bo binary.ByteOrder
	nano := false
	switch magic := binary.LittleEndian.Uint32(hdr[:]); magic {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo, nano = binary.LittleEndian, magic == 0xa1b23c4d
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo, nano = binary.BigEndian, magic == 0x4d3cb2a1
	default:
		return nil, errors.New("pcap: not a pcap file (pcapng is not read: convert with editcap -F pcap)")
	}
	link := bo.Uint32(hdr[20:]) & 0x0fffffff
	switch link {
	case linkNull, linkEthernet, linkRaw, linkSLL, linkIPv4, linkIPv6, linkSLL2:
	default:
		return nil, fmt.Errorf("pcap: link type %d is not read", link)
	}
	var out []Datagram
	var rec [16]byte
	for {
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("pcap: record %d: %w", len(out), err)
		}
		sec, frac, n := bo.Uint32(rec[0:]), bo.Uint32(rec[4:]), bo.Uint32(rec[8:])
		if n > maxSnap {
			return out, fmt.Errorf("pcap: record of %d bytes", n)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return out, fmt.Errorf("pcap: record data: %w", err)
		}
		if !nano {
			frac *= 1000
		}
		if d, ok := udpOf(link, data); ok {
			d.Time = time.Unix(int64(sec), int64(frac)).UTC()
			out = append(out, d)
		}
	}
}

// udpOf unwraps a link-layer frame down to its UDP payload.
func udpOf(link uint32, b []byte) (Datagram, bool) {
	var proto uint16 // an EtherType, or 0 to read the IP version
	switch link {
	case linkNull:
		if len(b) < 4 {
			return Datagram{}, false
		}
		b = b[4:]
	case linkEthernet:
		if len(b) < 14 {
			return Datagram{}, false
		}
		proto, b = binary.BigEndian.Uint16(b[12:]), b[14:]
		for proto == 0x8100 && len(b) >= 4 { // 802.1Q tags
			proto, b = binary.BigEndian.Uint16(b[2:]), b[4:]
		}
	case linkSLL:
		if len(b) < 16 {
			return Datagram{}, false
		}
		proto, b = binary.BigEndian.Uint16(b[14:]), b[16:]
	case linkSLL2:
		if len(b) < 20 {
			return Datagram{}, false
		}
		proto, b = binary.BigEndian.Uint16(b[0:]), b[20:]
	}
	if proto != 0 && proto != 0x0800 && proto != 0x86dd {
		return Datagram{}, false
	}
	return ipUDP(b)
}

// ipUDP reads an IPv4 or IPv6 packet carrying UDP (no IPv6 extension
// headers, no fragments).
func ipUDP(b []byte) (Datagram, bool) {
	if len(b) < 1 {
		return Datagram{}, false
	}
	var src, dst netip.Addr
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl || b[9] != 17 {
			return Datagram{}, false
		}
		if binary.BigEndian.Uint16(b[6:])&0x3fff != 0 { // a fragment
			return Datagram{}, false
		}
		total := int(binary.BigEndian.Uint16(b[2:]))
		if total >= ihl && total < len(b) {
			b = b[:total] // Ethernet padding
		}
		src, dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		b = b[ihl:]
	case 6:
		if len(b) < 40 || b[6] != 17 {
			return Datagram{}, false
		}
		src, dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		b = b[40:]
	default:
		return Datagram{}, false
	}
	if len(b) < 8 {
		return Datagram{}, false
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	if n < 8 || n > len(b) {
		return Datagram{}, false
	}
	return Datagram{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(b[0:])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(b[2:])),
		Payload: b[8:n],
	}, true
}

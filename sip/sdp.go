package sip

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Direction is an SDP media direction attribute.
type Direction string

// Directions (RFC 3264 §5.1).
const (
	SendRecv Direction = "sendrecv"
	SendOnly Direction = "sendonly"
	RecvOnly Direction = "recvonly"
	Inactive Direction = "inactive"
)

// Reverse returns the direction that answers d: sendonly ↔ recvonly.
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

// Codec is one payload format of an audio m-line.
type Codec struct {
	PayloadType uint8
	Name        string // as in rtpmap: PCMU, PCMA, G722, opus, telephone-event
	ClockRate   int
	Channels    int
	Fmtp        string
}

// SDP is the part of a session description a gateway needs: where audio
// goes, which codecs are offered in order, and the direction.
type SDP struct {
	Addr      netip.Addr // connection address of the audio
	Port      int        // 0: the stream is refused or disabled
	Proto     string     // RTP/AVP, RTP/SAVP, ...
	Codecs    []Codec    // in the offerer's order of preference
	Direction Direction
	Ptime     int
	HasAudio  bool
	Crypto    []Crypto // SDES keys in the offerer's order, of suites voxgate speaks
}

// static payload types whose rtpmap lines are optional (RFC 3551).
var staticCodecs = map[uint8]Codec{
	0: {PayloadType: 0, Name: "PCMU", ClockRate: 8000, Channels: 1},
	8: {PayloadType: 8, Name: "PCMA", ClockRate: 8000, Channels: 1},
	9: {PayloadType: 9, Name: "G722", ClockRate: 8000, Channels: 1},
}

// ParseSDP reads the first audio stream of a session description.
func ParseSDP(body []byte) (SDP, error) {
	var (
		s          SDP
		sessAddr   netip.Addr
		inAudio    bool
		sessionDir Direction = SendRecv
		mediaDir   Direction
		maps       = map[uint8]Codec{}
		order      []uint8
	)
	lines := strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(strings.TrimSpace(lines[0]), "v=0") {
		return s, fmt.Errorf("%w: no v=0 line", ErrBadSDP)
	}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if len(line) < 2 || line[1] != '=' {
			continue
		}
		key, val := line[0], line[2:]
		switch key {
		case 'm':
			if s.HasAudio { // only the first audio stream matters
				inAudio = false
				continue
			}
			f := strings.Fields(val)
			inAudio = len(f) >= 3 && f[0] == "audio"
			if !inAudio {
				continue
			}
			port, err := strconv.Atoi(f[1])
			if err != nil || port < 0 || port > 65535 {
				return s, fmt.Errorf("%w: bad port in m=%s", ErrBadSDP, val)
			}
			s.HasAudio, s.Port, s.Proto = true, port, f[2]
			for _, pt := range f[3:] {
				n, err := strconv.Atoi(pt)
				if err != nil || n < 0 || n > 127 {
					return s, fmt.Errorf("%w: bad payload type %q", ErrBadSDP, pt)
				}
				order = append(order, uint8(n))
			}
		case 'c':
			f := strings.Fields(val)
			if len(f) < 3 || f[0] != "IN" {
				return s, fmt.Errorf("%w: bad c= line", ErrBadSDP)
			}
			addr, err := netip.ParseAddr(strings.Split(f[2], "/")[0])
			if err != nil {
				return s, fmt.Errorf("%w: bad address %q", ErrBadSDP, f[2])
			}
			if inAudio {
				s.Addr = addr
			} else if !s.HasAudio {
				sessAddr = addr
			}
		case 'a':
			name, arg, _ := strings.Cut(val, ":")
			switch name {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				if inAudio {
					mediaDir = Direction(name)
				} else if !s.HasAudio {
					sessionDir = Direction(name)
				}
			case "rtpmap", "fmtp":
				if !inAudio {
					continue
				}
				ptStr, rest, _ := strings.Cut(arg, " ")
				n, err := strconv.Atoi(ptStr)
				if err != nil || n < 0 || n > 127 {
					continue
				}
				c := maps[uint8(n)]
				c.PayloadType = uint8(n)
				if name == "fmtp" {
					c.Fmtp = rest
				} else {
					parts := strings.Split(rest, "/")
					c.Name = parts[0]
					if len(parts) > 1 {
						c.ClockRate, _ = strconv.Atoi(parts[1])
					}
					c.Channels = 1
					if len(parts) > 2 {
						c.Channels, _ = strconv.Atoi(parts[2])
					}
				}
				maps[uint8(n)] = c
			case "ptime":
				if inAudio {
					s.Ptime, _ = strconv.Atoi(arg)
				}
			case "crypto":
				if c, ok := parseCrypto(arg); ok && inAudio {
					s.Crypto = append(s.Crypto, c)
				}
			}
		}
	}
	if !s.HasAudio {
		return s, nil
	}
	if !s.Addr.IsValid() {
		s.Addr = sessAddr
	}
	if !s.Addr.IsValid() {
		return s, fmt.Errorf("%w: no connection address for audio", ErrBadSDP)
	}
	s.Direction = sessionDir
	if mediaDir != "" {
		s.Direction = mediaDir
	}
	for _, pt := range order {
		c, ok := maps[pt]
		if !ok || c.Name == "" {
			st, static := staticCodecs[pt]
			if !static {
				continue // a dynamic type without rtpmap cannot be used
			}
			st.Fmtp = c.Fmtp
			c = st
		}
		s.Codecs = append(s.Codecs, c)
	}
	return s, nil
}

// Supported lists the codecs voxgate accepts, by rtpmap name and clock rate.
var Supported = []Codec{
	{PayloadType: 0, Name: "PCMU", ClockRate: 8000, Channels: 1},
	{PayloadType: 8, Name: "PCMA", ClockRate: 8000, Channels: 1},
	{PayloadType: 9, Name: "G722", ClockRate: 8000, Channels: 1},
	{PayloadType: 111, Name: "opus", ClockRate: 48000, Channels: 2, Fmtp: "minptime=10;useinbandfec=1"},
}

// TelephoneEvent is the RFC 4733 payload format voxgate offers.
var TelephoneEvent = Codec{PayloadType: 101, Name: "telephone-event", ClockRate: 8000, Channels: 1, Fmtp: "0-16"}

// Negotiate picks the answer to an offer: the offerer's first supported
// codec, and telephone-event at 8 kHz when offered.
func Negotiate(offer SDP) (audio Codec, dtmf *Codec, err error) {
	found := false
	for _, c := range offer.Codecs {
		if strings.EqualFold(c.Name, "telephone-event") {
			if c.ClockRate == 8000 && dtmf == nil {
				cc := c
				dtmf = &cc
			}
			continue
		}
		if found {
			continue
		}
		for _, s := range Supported {
			if strings.EqualFold(c.Name, s.Name) && c.ClockRate == s.ClockRate {
				audio, found = c, true
				audio.Name = s.Name
				break
			}
		}
	}
	if !found {
		return Codec{}, nil, ErrNoCommonCodec
	}
	return audio, dtmf, nil
}

// AnswerSDP writes a session description offering (or answering with)
// codecs at addr:port with the direction.
func AnswerSDP(sessionID uint64, addr netip.AddrPort, dir Direction, codecs ...Codec) []byte {
	var b strings.Builder
	ip := "IP4"
	if addr.Addr().Is6() {
		ip = "IP6"
	}
	fmt.Fprintf(&b, "v=0\r\no=voxgate %d %d IN %s %s\r\ns=voxgate\r\nc=IN %s %s\r\nt=0 0\r\n",
		sessionID, sessionID, ip, addr.Addr(), ip, addr.Addr())
	fmt.Fprintf(&b, "m=audio %d RTP/AVP", addr.Port())
	for _, c := range codecs {
		fmt.Fprintf(&b, " %d", c.PayloadType)
	}
	b.WriteString("\r\n")
	for _, c := range codecs {
		if c.Channels > 1 {
			fmt.Fprintf(&b, "a=rtpmap:%d %s/%d/%d\r\n", c.PayloadType, c.Name, c.ClockRate, c.Channels)
		} else {
			fmt.Fprintf(&b, "a=rtpmap:%d %s/%d\r\n", c.PayloadType, c.Name, c.ClockRate)
		}
		if c.Fmtp != "" {
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", c.PayloadType, c.Fmtp)
		}
	}
	fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", dir)
	return []byte(b.String())
}

// netipAddrPort is where an SDP's audio goes.
func netipAddrPort(s SDP) netip.AddrPort { return netip.AddrPortFrom(s.Addr, uint16(s.Port)) }

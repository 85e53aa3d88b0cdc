package loadgen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pion/rtp"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/rtpio"
)

// Fixture is one recorded RTP stream, ready to replay: its audio packets
// and RFC 4733 events in order, with their times from the start.
type Fixture struct {
	Name string
	// Format is the audio codec; PayloadType its RTP payload type.
	Format      media.Format
	PayloadType uint8
	// DTMFPayloadType is telephone-event's payload type (0: none in it).
	DTMFPayloadType uint8
	// ClockRate is the RTP clock of the audio (8000 for G.722).
	ClockRate int
	// FrameStep is the RTP timestamp step of one audio frame.
	FrameStep uint32
	Packets   []FixturePacket
	// Duration is one play of the recording, the period of a looped replay.
	Duration time.Duration
	// SeqSpan and TSSpan are what one play advances the sequence number
	// and the timestamp by.
	SeqSpan uint16
	TSSpan  uint32
}

// FixturePacket is one recorded packet. Seq and TS are relative to the
// first audio packet.
type FixturePacket struct {
	At      time.Duration
	DTMF    bool
	Marker  bool
	Seq     uint16
	TS      uint32
	Payload []byte
}

// LoadFixture reads a pcap file and keeps its main RTP stream: the SSRC
// with the most packets (RTCP and other streams are left out).
func LoadFixture(path string) (*Fixture, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	grams, err := ReadPCAP(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fx, err := NewFixture(grams)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fx.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return fx, nil
}

// NewFixture picks the main RTP stream out of captured datagrams.
func NewFixture(grams []Datagram) (*Fixture, error) {
	type pkt struct {
		at  time.Time
		hdr rtp.Header
		pl  []byte
	}
	streams := map[uint32][]pkt{}
	var best uint32
	for _, d := range grams {
		if len(d.Payload) < 12 || d.Payload[0]>>6 != 2 || rtpio.IsRTCP(d.Payload) {
			continue
		}
		var p rtp.Packet
		if p.Unmarshal(d.Payload) != nil {
			continue
		}
		streams[p.SSRC] = append(streams[p.SSRC], pkt{d.Time, p.Header, p.Payload})
		if len(streams[p.SSRC]) > len(streams[best]) {
			best = p.SSRC
		}
	}
	pkts := streams[best]
	if len(pkts) == 0 {
		return nil, errors.New("no RTP in the capture")
	}
	// The audio payload type is the most common; telephone-event packets
	// are the 4-byte ones of another type.
	count := map[uint8]int{}
	for _, p := range pkts {
		count[p.hdr.PayloadType]++
	}
	fx := &Fixture{}
	for pt, n := range count {
		if n > count[fx.PayloadType] || count[fx.PayloadType] == 0 {
			fx.PayloadType = pt
		}
	}
	for pt := range count {
		if pt != fx.PayloadType {
			fx.DTMFPayloadType = pt
		}
	}
	if len(count) > 2 {
		return nil, fmt.Errorf("the stream mixes %d payload types", len(count))
	}
	var ok bool
	if fx.Format, fx.ClockRate, ok = formatOf(fx.PayloadType); !ok {
		return nil, fmt.Errorf("payload type %d is not one voxgate takes", fx.PayloadType)
	}
	first := -1
	for i, p := range pkts {
		if p.hdr.PayloadType == fx.PayloadType {
			first = i
			break
		}
	}
	pkts = pkts[first:]
	// Frame step: the most common timestamp step between consecutive audio packets.
	steps := map[uint32]int{}
	var prev *pkt
	for i := range pkts {
		p := &pkts[i]
		if p.hdr.PayloadType != fx.PayloadType {
			continue
		}
		if prev != nil && p.hdr.SequenceNumber == prev.hdr.SequenceNumber+1 {
			steps[p.hdr.Timestamp-prev.hdr.Timestamp]++
		}
		prev = p
	}
	for s, n := range steps {
		if n > steps[fx.FrameStep] {
			fx.FrameStep = s
		}
	}
	if fx.FrameStep == 0 || fx.FrameStep > uint32(fx.ClockRate)/10 {
		return nil, fmt.Errorf("no steady frame step in the stream (%v)", steps)
	}
	s0, t0, at0 := pkts[0].hdr.SequenceNumber, pkts[0].hdr.Timestamp, pkts[0].at
	var lastSeq uint16
	var lastTS uint32
	for _, p := range pkts {
		fp := FixturePacket{At: p.at.Sub(at0), DTMF: p.hdr.PayloadType != fx.PayloadType, Marker: p.hdr.Marker,
			Seq: p.hdr.SequenceNumber - s0, TS: p.hdr.Timestamp - t0, Payload: p.pl}
		if int16(fp.Seq) < 0 || fp.At < 0 {
			continue // reordered before the first audio packet
		}
		fx.Packets = append(fx.Packets, fp)
		lastSeq = max(lastSeq, fp.Seq)
		if !fp.DTMF {
			lastTS = max(lastTS, fp.TS)
		}
	}
	if len(fx.Packets) == 0 || lastSeq >= 1<<15 {
		return nil, errors.New("no steady stream of packets in the capture")
	}
	fx.SeqSpan = lastSeq + 1
	fx.TSSpan = lastTS + fx.FrameStep
	fx.Duration = time.Duration(fx.TSSpan) * time.Second / time.Duration(fx.ClockRate)
	if last := fx.Packets[len(fx.Packets)-1].At + media.FrameDuration; last > fx.Duration {
		fx.Duration = last // events after the last audio packet
	}
	return fx, nil
}

// WithoutEvents returns a copy of the fixture without its RFC 4733 packets,
// the audio renumbered as if they had never taken sequence numbers: the
// speech alone, as a phone that sends no digits.
func (fx *Fixture) WithoutEvents() *Fixture {
	c := *fx
	c.DTMFPayloadType = 0
	c.Packets = nil
	var seq uint16
	for _, p := range fx.Packets {
		if p.DTMF {
			continue
		}
		p.Seq = seq
		seq++
		c.Packets = append(c.Packets, p)
	}
	c.SeqSpan = seq
	c.Name += ", speech only"
	return &c
}

// formatOf is the audio format of a payload type: the static ones, and any
// dynamic type as Opus (the one dynamic codec voxgate takes over SIP).
func formatOf(pt uint8) (media.Format, int, bool) {
	switch {
	case pt == 0:
		return media.Format{Codec: media.CodecPCMU, SampleRate: 8000, Channels: 1}, 8000, true
	case pt == 8:
		return media.Format{Codec: media.CodecPCMA, SampleRate: 8000, Channels: 1}, 8000, true
	case pt == 9:
		return media.Format{Codec: media.CodecG722, SampleRate: 16000, Channels: 1}, 8000, true
	case pt >= 96 && pt <= 127:
		return media.Format{Codec: media.CodecOpus, SampleRate: 48000, Channels: 1}, 48000, true
	}
	return media.Format{}, 0, false
}

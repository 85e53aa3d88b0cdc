package record

import (
	"encoding/binary"
	"io"
)

// Ogg page header flags (RFC 3533, section 6).
const (
	oggBOS = 0x02 // first page of the stream
	oggEOS = 0x04 // last page of the stream
)

// oggWriter writes one logical Ogg stream (RFC 3533). Packets are gathered
// into a page until flush; no packet is split across pages.
type oggWriter struct {
	w       io.Writer
	serial  uint32
	seq     uint32 // number of the next page
	lacing  []byte // segment table of the page being gathered
	data    []byte // its packets
	granule int64  // granule position after its last packet
	page    []byte
}

// add appends a packet, after which the stream's granule position is
// granule, to the page being gathered; it first writes out the page if the
// packet would not fit its segment table.
func (o *oggWriter) add(packet []byte, granule int64) error {
	if len(o.lacing)+len(packet)/255+1 > 255 {
		if err := o.flush(0); err != nil {
			return err
		}
	}
	for n := len(packet); ; n -= 255 {
		if n < 255 {
			o.lacing = append(o.lacing, byte(n))
			break
		}
		o.lacing = append(o.lacing, 255)
	}
	o.data = append(o.data, packet...)
	o.granule = granule
	return nil
}

// pending returns how many bytes of packets the next page holds so far.
func (o *oggWriter) pending() int { return len(o.data) }

// flush writes the gathered packets as one page with the given flags.
func (o *oggWriter) flush(flags byte) error {
	le := binary.LittleEndian
	p := append(o.page[:0], "OggS"...)
	p = append(p, 0, flags)
	p = le.AppendUint64(p, uint64(o.granule))
	p = le.AppendUint32(p, o.serial)
	p = le.AppendUint32(p, o.seq)
	p = le.AppendUint32(p, 0) // CRC, filled in below
	p = append(p, byte(len(o.lacing)))
	p = append(p, o.lacing...)
	p = append(p, o.data...)
	le.PutUint32(p[22:], oggCRC(p))
	o.page, o.lacing, o.data = p, o.lacing[:0], o.data[:0]
	o.seq++
	_, err := o.w.Write(p)
	return err
}

// oggCRCTable is for Ogg's CRC-32: polynomial 0x04c11db7, not reflected,
// initial value and final XOR 0.
var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, v := range b {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^v]
	}
	return crc
}

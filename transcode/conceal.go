package transcode

// fadeFrames is how many lost frames fade out to silence when a codec has no
// concealment of its own.
const fadeFrames = 3

// fader conceals lost frames for codecs without their own packet loss
// concealment (G.711, G.722, L16): it repeats the last good frame while
// fading it linearly to silence over fadeFrames frames, then stays silent.
type fader struct {
	last []int16
	lost int // frames concealed since the last good one
}

// remember keeps a copy of a good frame.
func (f *fader) remember(pcm []int16) {
	f.last = append(f.last[:0], pcm...)
	f.lost = 0
}

// conceal fills dst with the next concealed frame.
func (f *fader) conceal(dst []int16) {
	k := f.lost
	f.lost = min(f.lost+1, fadeFrames)
	if len(f.last) == 0 || k >= fadeFrames {
		clear(dst)
		return
	}
	total := float32(fadeFrames * len(dst))
	done := float32(k * len(dst))
	for i := range dst {
		gain := 1 - (done+float32(i))/total
		dst[i] = int16(float32(f.last[i%len(f.last)]) * gain)
	}
}

// clock maps a stage's input timestamps (at rate in) to its output
// timestamps (at rate out). The first timestamp is scaled; later ones keep
// their distance from it, so jumps in the input carry over, and wrapping
// uint32 arithmetic stays consistent for streams of any length.
type clock struct {
	in, out         int
	set             bool
	baseIn, baseOut uint32
}

func (c *clock) at(ts uint32) uint32 {
	if c.in == c.out {
		return ts
	}
	if !c.set {
		c.set = true
		c.baseIn, c.baseOut = ts, uint32(uint64(ts)*uint64(c.out)/uint64(c.in))
		return c.baseOut
	}
	d := int64(int32(ts - c.baseIn))
	o := c.baseOut + uint32(d*int64(c.out)/int64(c.in))
	if d > 1<<30 || d < -1<<30 {
		c.baseIn, c.baseOut = ts, o
	}
	return o
}

package mediatest

// OpusBandwidth is the audio bandwidth an Opus packet's TOC byte names
// (RFC 6716, §3.1), as the top sample rate of the band: 8000 for
// narrowband, 12000 medium, 16000 wide, 24000 super-wide, 48000 full; 0
// for an empty packet.
func OpusBandwidth(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	config := p[0] >> 3
	switch {
	case config < 12: // SILK-only: NB, MB, WB in fours
		return []int{8000, 12000, 16000}[config/4]
	case config < 16: // hybrid: SWB, FB in twos
		return []int{24000, 48000}[(config-12)/2]
	}
	return []int{8000, 16000, 24000, 48000}[(config-16)/4] // CELT-only: NB, WB, SWB, FB in fours
}

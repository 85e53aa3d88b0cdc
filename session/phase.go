package session

import "time"

// A client sending audio in real time would have each frame wait in its
// queue for the clock's next tick: up to a whole period when the frames
// land just after the ticks, as they do for a client that starts talking
// when it first hears the call. Its frames play as they arrive instead
// (see live.dueAt), and the grid of ticks follows it: the ticks move to
// fall a margin (8 to 18 ms, a jitter allowance) after that client's
// frames, so that the grid plays a tick without them only when a frame is
// that late. A frame that comes after the tick it was meant for (the tick
// played nothing from it) moves the next tick back at once, past where that
// frame came, and widens the margin as far; a clean while narrows it again.
// Only the first client to speak sets the pace; legs never do (their far
// ends buffer what they are sent anyway).
const (
	phaseWindow     = 50 // ticks one decision looks back on (1 s)
	phaseMinSamples = 40 // real-time frames a window needs before the ticks move earlier
	phaseMarginMin  = 8 * time.Millisecond
	phaseMarginMax  = 18 * time.Millisecond
	phaseStepMax    = 5 * time.Millisecond // the most one window moves the ticks earlier
	phaseLateStep   = 2 * time.Millisecond // how much later than a late frame the ticks move
	phaseCleanDecay = 10                   // clean windows before the margin narrows by a millisecond
)

// phase decides how the clock's ticks move from how long the pacing
// client's frames waited for them.
type phase struct {
	margin  time.Duration
	minWait time.Duration // the shortest wait in this window
	samples int           // frames that arrived in real time this window
	late    time.Duration // how far after its tick this window's latest frame came (0: none late)
	ticks   int
	clean   int // windows in a row without a late frame
}

// waited records that a frame which arrived in real time (into an empty
// queue) waited d for its tick.
func (p *phase) waited(d time.Duration) {
	if p.samples == 0 || d < p.minWait {
		p.minWait = d
	}
	p.samples++
}

// lateFrame records a frame that arrived by after the tick meant for it
// (at least a nanosecond, so that late is never 0 once a frame was).
func (p *phase) lateFrame(by time.Duration) { p.late = max(p.late, by, 1) }

// tick ends one tick and returns how far to move the next one: negative
// is earlier. A late frame moves it later at once; earlier moves wait for
// the end of a window.
func (p *phase) tick() time.Duration {
	if p.margin == 0 {
		p.margin = phaseMarginMin
	}
	if p.late > 0 {
		shift := min(p.late+phaseLateStep, phaseMarginMax)
		p.margin = min(max(p.margin, shift), phaseMarginMax)
		p.ticks, p.samples, p.late, p.clean = 0, 0, 0, 0
		return shift
	}
	if p.ticks++; p.ticks < phaseWindow {
		return 0
	}
	var shift time.Duration
	if p.samples >= phaseMinSamples && p.minWait > p.margin+time.Millisecond {
		shift = -min(p.minWait-p.margin, phaseStepMax)
	}
	if p.clean++; p.clean >= phaseCleanDecay {
		p.clean = 0
		p.margin = max(p.margin-time.Millisecond, phaseMarginMin)
	}
	p.ticks, p.samples = 0, 0
	return shift
}

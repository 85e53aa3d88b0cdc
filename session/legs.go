package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/transcode"
)

// legRunner carries one leg's audio: a goroutine reads and decodes what the
// party says into the session; the session's clock encodes and writes what
// the party hears. A leg whose codec runs at NarrowRate (G.711) does both in
// the narrow band.
type legRunner struct {
	l      *live
	leg    Leg
	src    *source
	narrow bool
	decode media.Writer        // leg format → PCM in the leg's band → the session
	encode *transcode.Pipeline // PCM in the leg's band → leg format → the leg
	ts     uint32
	gone   bool // the leg left the session (guarded by the live session's mutex)
	// cutAt is when the leg last heard a frame cut through to it as the
	// frame arrived (guarded by the live session's mutex; see live.cutTo).
	cutAt time.Time
}

// legQueue is how many frames a leg's source holds for the clock: enough to
// ride out scheduling jitter, little enough to add no audible delay.
const legQueue = 5

// AddLeg joins an answered leg to a session that has not ended. Its audio is
// decoded into the session and it hears the mix of the other side, until the
// leg ends or the session does. When the last call leg leaves, the session
// ends with calls_ended. A leg with a call record joins through AnswerLeg.
func (m *Manager) AddLeg(ctx context.Context, sessionID string, leg Leg) error {
	return m.addLeg(ctx, sessionID, leg, true)
}

// AnswerLeg joins the leg of an answered call to its session (AddLeg) and
// then records the answer (CallAnswered, with the call's codec), in that
// order: a client that speaks as soon as it hears call.answered is heard
// from its first frame. The answer is recorded even when the leg cannot
// join (the far end did answer); the error is AddLeg's.
func (m *Manager) AnswerLeg(ctx context.Context, sessionID string, leg Leg, codec string) error {
	joined := m.AddLeg(ctx, sessionID, leg)
	if err := m.CallAnswered(ctx, leg.CallID(), codec); err != nil {
		m.log.Warn("call not marked answered", zap.String("call_id", leg.CallID()), zap.Error(err))
	}
	return joined
}

// AddEarlyLeg joins a leg that is not answered yet (SIP early media: a
// ringback or an announcement). Its audio flows like an answered leg's, but
// the session ends with calls_ended only once a call of it has been answered
// (CallAnswered), so a call refused after early media leaves the session up.
func (m *Manager) AddEarlyLeg(ctx context.Context, sessionID string, leg Leg) error {
	return m.addLeg(ctx, sessionID, leg, false)
}

func (m *Manager) addLeg(ctx context.Context, sessionID string, leg Leg, answered bool) error {
	if !leg.Speaker().Valid() {
		return fmt.Errorf("session: leg %s has no speaker", leg.CallID())
	}
	narrow := leg.Format().SampleRate == NarrowRate
	pcm := media.PCM16(Rate)
	if narrow {
		pcm = media.PCM16(NarrowRate)
	}
	for {
		l, err := m.open(ctx, sessionID)
		if err != nil {
			return err
		}
		lr := &legRunner{l: l, leg: leg, narrow: narrow}
		lr.src = &source{speaker: leg.Speaker(), track: Original, max: legQueue, leg: lr}
		if lr.decode, err = m.cfg.Transcode.Chain(leg.Format(), pcm, media.WriterFunc(lr.arrive)); err != nil {
			return fmt.Errorf("session: leg %s: %w", leg.CallID(), err)
		}
		if lr.encode, err = m.cfg.Transcode.Chain(pcm, leg.Format(), leg); err != nil {
			return fmt.Errorf("session: leg %s: %w", leg.CallID(), err)
		}
		l.mu.Lock()
		if l.stopped {
			ended := l.reason != ""
			l.mu.Unlock()
			if ended {
				return ErrEnded
			}
			continue // released between open and lock: open again
		}
		l.legs[leg.CallID()] = lr
		l.sources = append(l.sources, lr.src)
		l.mu.Unlock()
		if answered {
			l.markAnswered()
		}
		l.activate()
		l.log.Info("leg joined", zap.String("call_id", leg.CallID()), zap.String("speaker", string(leg.Speaker())),
			zap.Stringer("codec", leg.Format()))
		l.wg.Add(1)
		if d, ok := leg.(FrameDeliverer); ok {
			d.DeliverFrames(media.WriterFunc(lr.take), lr.ended)
		} else {
			go lr.run()
		}
		return nil
	}
}

// run reads the party's audio from a leg that does not deliver it, until
// the leg ends.
func (lr *legRunner) run() {
	var f media.Frame
	for lr.leg.ReadFrame(&f) == nil {
		_ = lr.take(f)
	}
	lr.ended()
}

// ended takes the leg out of the session once it has ended.
func (lr *legRunner) ended() {
	lr.l.removeLeg(lr)
	lr.l.wg.Done()
}

// take decodes one frame of the party's into the session.
func (lr *legRunner) take(f media.Frame) error {
	if err := lr.decode.WriteFrame(f); err != nil {
		lr.l.log.Debug("frame not decoded", zap.String("call_id", lr.leg.CallID()), zap.Error(err))
	}
	return nil
}

// arrive takes a decoded frame: subscribers get it now, and so do the other
// side's legs when it is all they hear (a bridged call, see live.cutTo);
// otherwise they hear it in the mix at the next tick.
func (lr *legRunner) arrive(f media.Frame) error {
	l := lr.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped || lr.gone {
		return nil
	}
	for pcm := f.Samples; len(pcm) > 0; {
		n := min(len(pcm), frameSamples(lr.narrow))
		l.fanOut(lr.src, lr.src.push(pcm[:n], lr.narrow, true))
		l.cutTo(lr)
		pcm = pcm[n:]
	}
	return nil
}

// play encodes one mixed frame to the leg (called by the clock).
func (lr *legRunner) play(pcm []int16) {
	_ = lr.encode.WriteFrame(media.Frame{Samples: pcm, Timestamp: lr.ts})
	lr.ts += uint32(len(pcm))
}

// limitBand tells a wideband leg's encoder whether what the leg hears now
// came in the narrow band alone (a phone call's audio, resampled up): an
// Opus leg then codes the narrow band, at about half the CPU. Silence leaves
// the band as it was.
func (lr *legRunner) limitBand(narrowOnly bool) {
	rate := 0
	if narrowOnly {
		rate = NarrowRate
	}
	_ = lr.encode.LimitBand(rate) // libopus refuses no bandwidth; the frame is played either way
}

// removeLeg forgets a leg that ended; the last call leg ends the session.
func (l *live) removeLeg(lr *legRunner) {
	l.mu.Lock()
	lr.gone = true // a leg that delivers its frames may still send some
	if l.legs[lr.leg.CallID()] != lr {
		l.mu.Unlock()
		return
	}
	delete(l.legs, lr.leg.CallID())
	kept := l.sources[:0]
	for _, src := range l.sources {
		if src != lr.src {
			kept = append(kept, src)
		}
	}
	clear(l.sources[len(kept):])
	l.sources = kept
	lr.src.release()
	last := len(l.legs) == 0 && !l.stopped
	l.mu.Unlock()
	l.log.Info("leg left", zap.String("call_id", lr.leg.CallID()))
	if last && l.answered.Load() {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := l.m.End(ctx, l.scope, l.id, EndCallsEnded); err != nil && !errors.Is(err, ErrNotFound) {
				l.log.Warn("session not ended after its calls", zap.Error(err))
			}
		}()
	}
}

// sendDTMF sends digits to the legs of the side the client does not speak for.
func (l *live) sendDTMF(sub *Subscription, digits, callID string) error {
	if digits == "" || strings.Trim(digits, "0123456789*#ABCDabcd") != "" {
		sub.pushEvent(Event{Type: "session.error", Code: ErrCodeInvalidMessage, Message: "dtmf.send digits must be 0-9, *, # or A-D"})
		return nil
	}
	speaker := sub.lastSpk
	if speaker == "" {
		speaker = SpeakerAgent // a bot that has not spoken yet speaks for the agent
	}
	l.mu.Lock()
	var targets []DTMFSender
	for id, lr := range l.legs {
		ds, ok := lr.leg.(DTMFSender)
		if ok && lr.leg.Speaker() != speaker && (callID == "" || id == callID) {
			targets = append(targets, ds)
		}
	}
	l.mu.Unlock()
	if len(targets) == 0 {
		sub.pushEvent(Event{Type: "session.error", Code: ErrCodeNoCallLeg,
			Message: fmt.Sprintf("no call leg on the %s side can take DTMF", speaker.Other())})
		return nil
	}
	var errs []error
	for _, t := range targets {
		errs = append(errs, t.SendDTMF(strings.ToUpper(digits)))
	}
	return errors.Join(errs...)
}

package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"go.uber.org/zap"

	"github.com/voxgate/voxgate/media"
	"github.com/voxgate/voxgate/media/rtpio"
	"github.com/voxgate/voxgate/session"
)

// Call is a SIP call as a session leg: its RTP through rtpio, ended by a BYE
// either way, the media timeout, or the session.
type Call struct {
	id          string
	sessionID   string
	sipID       string      // the SIP Call-ID
	slot        slot        // the trunk and organization it counts against
	ackBody     chan []byte // a late offer's answer, from the ACK
	speaker     session.Speaker
	format      media.Format
	rtp         *rtpio.Conn
	crypto      *Crypto                    // the SRTP key it sends with; nil for plain RTP
	dialog      *sipgo.DialogServerSession // inbound calls
	byeMu       sync.Mutex
	bye         func(context.Context) error // hangs up the dialog, once it is confirmed
	cancelRing  context.CancelFunc          // outbound: cancels the INVITE while it rings
	reached     atomic.Bool                 // outbound: the far end sent a response
	unreachable atomic.Bool                 // outbound: abandoned for want of any response
	early       bool                        // outbound: joined the session on early media
	log         *zap.Logger

	done      chan struct{}   // closed when the leg ends
	legEnd    media.EndNotice // tells the session, right after done closes
	ended     chan struct{}   // closed when the call's end is recorded
	closeOnce sync.Once
	cause     error
}

// formatOf is the media format of a negotiated codec.
func formatOf(c Codec) media.Format {
	switch strings.ToUpper(c.Name) {
	case "PCMU":
		return media.Format{Codec: media.CodecPCMU, SampleRate: 8000, Channels: 1}
	case "PCMA":
		return media.Format{Codec: media.CodecPCMA, SampleRate: 8000, Channels: 1}
	case "G722":
		return media.Format{Codec: media.CodecG722, SampleRate: 16000, Channels: 1}
	}
	return media.Format{Codec: media.CodecOpus, SampleRate: 48000, Channels: 1}
}

// CallID names the leg.
func (c *Call) CallID() string { return c.id }

// Speaker is the side the caller speaks for.
func (c *Call) Speaker() session.Speaker { return c.speaker }

// Format is the negotiated codec.
func (c *Call) Format() media.Format { return c.format }

// ReadFrame returns the caller's next frame.
func (c *Call) ReadFrame(f *media.Frame) error {
	select {
	case <-c.done:
		return c.cause
	default:
	}
	return c.rtp.ReadFrame(f)
}

// DeliverFrames hands the caller's frames to w on the RTP receiving
// goroutine, and calls ended when the call ends (session.FrameDeliverer).
func (c *Call) DeliverFrames(w media.Writer, ended func()) {
	c.rtp.Deliver(w)
	c.legEnd.Notify(ended)
}

// WriteFrame sends a frame to the caller.
func (c *Call) WriteFrame(f media.Frame) error { return c.rtp.WriteFrame(f) }

// SendDTMF sends RFC 4733 digits to the caller.
func (c *Call) SendDTMF(digits string) error { return c.rtp.SendDTMF(digits) }

// Close hangs up (BYE, unless the far end already did) with a cause.
func (c *Call) Close(cause error) error {
	c.closeOnce.Do(func() {
		c.cause = cause
		close(c.done)
		c.legEnd.End()
		c.byeMu.Lock()
		bye := c.bye
		c.byeMu.Unlock()
		if bye != nil && !errors.Is(cause, ErrRemoteBye) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := bye(ctx); err != nil {
				c.log.Debug("bye not acknowledged", zap.Error(err))
			}
		}
		_ = c.rtp.Close()
	})
	return nil
}

// String names the leg in a pipeline.
func (c *Call) String() string { return fmt.Sprintf("SIP(%s, %s)", c.id, c.format) }

// causeOf turns why a call ended into its hangup cause.
func causeOf(err error) string {
	var ended *session.EndedError
	switch {
	case errors.Is(err, ErrRemoteBye):
		return "remote_bye"
	case errors.Is(err, rtpio.ErrMediaTimeout):
		return "media_timeout"
	case errors.Is(err, errMaxDuration):
		return "max_duration"
	case errors.As(err, &ended):
		return "session_ended"
	case errors.Is(err, session.ErrHangup):
		return "api_hangup"
	case errors.Is(err, errServerClosed):
		return "shutdown"
	}
	return "error"
}

// confirmed records that the dialog is up, so that Close sends BYE.
func (c *Call) confirmed(bye func(context.Context) error) {
	c.byeMu.Lock()
	c.bye = bye
	c.byeMu.Unlock()
}

package sip_test

import (
	"context"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/sip/siptest"
	"github.com/voxgate/voxgate/store"
)

// TestInboundCancel: a caller that CANCELs its INVITE before the answer gets
// 487, and the call is recorded as canceled; a stray CANCEL gets 481.
func TestInboundCancel(t *testing.T) {
	one := 1
	f := newFixtureTrunk(t, session.TrunkParams{InboundCIDRs: &[]string{"127.0.0.1/32"}, MaxConcurrentCalls: &one})
	s, err := f.m.Create(f.ctx, f.sc, session.CreateParams{Mode: "media_stream"})
	if err != nil {
		t.Fatal(err)
	}
	// The gateway answers at once, so hold its store's writer: the INVITE
	// waits in the middle of its handling while the CANCEL comes through.
	held, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = f.st.Update(f.ctx, func(*store.Tx) error { close(held); <-release; return nil })
	}()
	<-held
	p := siptest.NewPhone(t, 0, 8000)
	gw := f.srv.Addr()
	invite := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{User: s.ID, Host: gw.Addr().String(), Port: int(gw.Port())})
	invite.SetBody(p.Offer(sip.Supported[0]))
	invite.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	invite.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{User: "phone", Host: "127.0.0.1", Port: 5099}})
	ctx, stop := context.WithTimeout(f.ctx, 10*time.Second)
	defer stop()
	tx, err := p.Client.TransactionRequest(ctx, invite)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Terminate()
	cancel := sipmsg.NewRequest(sipmsg.CANCEL, invite.Recipient)
	sipmsg.CopyHeaders("Via", invite, cancel)
	sipmsg.CopyHeaders("From", invite, cancel)
	sipmsg.CopyHeaders("To", invite, cancel)
	sipmsg.CopyHeaders("Call-ID", invite, cancel)
	cancel.AppendHeader(&sipmsg.CSeqHeader{SeqNo: invite.CSeq().SeqNo, MethodName: sipmsg.CANCEL})
	cancel.SetTransport(invite.Transport())
	cancel.SetDestination(invite.Destination())
	select { // a CANCEL goes after a provisional answer (RFC 3261 §9.1)
	case res := <-tx.Responses():
		if res.StatusCode >= 200 {
			t.Fatalf("INVITE answered %d before the CANCEL", res.StatusCode)
		}
	case <-ctx.Done():
		t.Fatal("no provisional answer")
	}
	if res, err := p.Client.Do(ctx, cancel); err != nil || res.StatusCode != 200 {
		t.Fatalf("CANCEL: %v %v", res, err)
	}
	final := 0
	for final < 200 {
		select {
		case res := <-tx.Responses():
			final = res.StatusCode
		case <-ctx.Done():
			t.Fatal("no final answer to the canceled INVITE")
		}
	}
	close(release)
	if final != 487 {
		t.Fatalf("canceled INVITE answered %d", final)
	}
	// The canceled INVITE gives back its place on the trunk (a cap of one):
	// the next call gets through.
	next := siptest.NewPhone(t, 0, 8000)
	code := 503
	for i := 0; code == 503 && i < 100; i++ {
		if i > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		code = next.Call(ctx, gw, s.ID, next.Offer(sip.Supported[0]))
	}
	if code != 200 {
		t.Fatalf("the call after the CANCEL: %d", code)
	}
	// A call the canceled INVITE recorded ended canceled (one canceled before
	// it was recorded leaves no row).
	calls, _, _ := f.m.ListCalls(f.ctx, f.sc, store.ListQuery{Limit: 10, SessionID: s.ID})
	for _, c := range calls {
		if c.SIPCallID == invite.CallID().Value() && (c.Status != session.CallCanceled || c.HangupCause != "canceled") {
			t.Fatalf("call after CANCEL: %+v", c)
		}
	}
	// A CANCEL for no INVITE the gateway knows.
	stray := sipmsg.NewRequest(sipmsg.CANCEL, invite.Recipient)
	if res, err := p.Client.Do(ctx, stray); err != nil || res.StatusCode != 481 {
		t.Fatalf("stray CANCEL: %v %v", res, err)
	}
	if err := next.Dialog.Bye(ctx); err != nil {
		t.Fatal(err)
	}
}

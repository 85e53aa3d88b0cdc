package api_test

import (
	"encoding/json"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/voxgate/voxgate/api"
	"github.com/voxgate/voxgate/store/storetest"
)

// browserOffer is a real SDP offer from a pion peer with one audio transceiver.
func browserOffer(t *testing.T) string {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return pc.LocalDescription().SDP
}

func offerBody(t *testing.T, sdp string) string {
	b, _ := json.Marshal(map[string]string{"sdp": sdp, "type": "offer"})
	return string(b)
}

func TestWebRTCRoute(t *testing.T) {
	g := startGateway(t, storetest.Engines(t)[0].Config(t), options{webrtc: true, api: api.Config{CORSOrigins: []string{"https://widget.example"}}})
	key := g.key(true)
	s := g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`).want(t, 201).json(t)
	sid, token := s["id"].(string), s["stream"].(map[string]any)["token"].(string)
	path := "/v1/sessions/" + sid + "/webrtc"

	// A page on another origin: the preflight is answered for allowed origins only.
	pre := g.do("OPTIONS", path+"?token="+token, "", "", header{"Origin", "https://widget.example"}, header{"Access-Control-Request-Method", "POST"}).want(t, 204)
	if pre.header.Get("Access-Control-Allow-Origin") != "https://widget.example" || !strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Fatalf("preflight headers: %v", pre.header)
	}
	if other := g.do("OPTIONS", path, "", "", header{"Origin", "https://evil.example"}); other.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a foreign origin was allowed")
	}

	// The token authorizes the page without an API key.
	r := g.do("POST", path+"?token="+url.QueryEscape(token), "", offerBody(t, browserOffer(t)), header{"Origin", "https://widget.example"}).want(t, 200)
	ans := r.json(t)
	if ans["type"] != "answer" || !strings.Contains(ans["sdp"].(string), "a=candidate") || !strings.HasPrefix(ans["call_id"].(string), "call_") {
		t.Fatalf("answer: %v", ans)
	}
	if r.header.Get("Access-Control-Allow-Origin") != "https://widget.example" {
		t.Fatal("no CORS header on the answer")
	}
	calls := g.do("GET", "/v1/sessions/"+sid+"/calls", key, "").want(t, 200).json(t)["data"].([]any)
	if len(calls) != 1 || calls[0].(map[string]any)["transport"] != "webrtc" || calls[0].(map[string]any)["speaker"] != "agent" {
		t.Fatalf("calls: %v", calls)
	}

	// Bad input.
	if r := g.do("POST", path+"?token=kst_live_wrong", "", offerBody(t, "v=0")).want(t, 401); r.errorCode(t) != "invalid_token" {
		t.Fatal(r.errorCode(t))
	}
	if r := g.do("POST", path, key, offerBody(t, "garbage")).want(t, 400); r.errorCode(t) != "invalid_sdp" {
		t.Fatal(r.errorCode(t))
	}
	g.do("POST", path, key, `{"sdp":"v=0","type":"answer"}`).want(t, 400)
	g.do("POST", path, "", offerBody(t, "v=0")).want(t, 401)
	// An expired token fails; an API key still works.
	var clock atomicTime
	clock.set(time.Now().Add(6 * time.Minute))
	g.store.SetClock(clock.now)
	g.do("POST", path+"?token="+token, "", offerBody(t, "v=0")).want(t, 401)
	// After the session ends, offers are refused.
	g.do("POST", "/v1/sessions/"+sid+"/end", key, "").want(t, 200)
	if r := g.do("POST", path, key, offerBody(t, browserOffer(t))).want(t, 409); r.errorCode(t) != "session_ended" {
		t.Fatal(r.errorCode(t))
	}
}

func TestWebRTCDisabled(t *testing.T) {
	g := startGateway(t, storetest.Engines(t)[0].Config(t), options{})
	key := g.key(true)
	sid := g.do("POST", "/v1/sessions", key, `{"mode":"media_stream"}`).want(t, 201).json(t)["id"].(string)
	g.do("POST", "/v1/sessions/"+sid+"/webrtc", key, offerBody(t, "v=0")).want(t, 503)
}

package e2e

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voxgate/voxgate/media/mediatest"
)

// TestDemoPageInChromium opens /demo in a real headless Chromium whose fake
// microphone plays a 1 kHz tone. The page joins the session over WebRTC; a
// WebSocket client on the session hears the tone and talks back at 600 Hz;
// the page receives that audio and shows the call's events.
func TestDemoPageInChromium(t *testing.T) {
	g := startGateway(t, "webrtc:\n  loopback_only: true\n")
	dir := t.TempDir()
	wav := filepath.Join(dir, "mic.wav")
	f, err := os.Create(wav)
	if err != nil {
		t.Fatal(err)
	}
	if err := mediatest.WriteWAV(f, 48000, mediatest.Tone(48000, 1000, -10, 48000*20)); err != nil {
		t.Fatal(err)
	}
	f.Close()

	s := g.post(t, "/v1/sessions", `{"mode":"media_stream"}`)
	sid := s["id"].(string)
	token := s["stream"].(map[string]any)["token"].(string)

	// The other side: a WebSocket client, customer, talking at 600 Hz.
	wsURL := strings.Replace(g.base, "http://", "ws://", 1) + "/v1/sessions/" + sid + "/connect?audio=pcm16_16000&token=" + token
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var (
		mu    sync.Mutex
		heard []int16
	)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			_, raw, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var m struct {
				Type    string `json:"type"`
				Speaker string `json:"speaker"`
				Audio   struct {
					Payload string `json:"payload"`
				} `json:"audio"`
			}
			if json.Unmarshal(raw, &m) != nil || m.Type != "audio.output" || m.Speaker != "agent" {
				continue
			}
			b, _ := base64.StdEncoding.DecodeString(m.Audio.Payload)
			mu.Lock()
			for i := 0; i+1 < len(b); i += 2 {
				heard = append(heard, int16(binary.LittleEndian.Uint16(b[i:])))
			}
			mu.Unlock()
		}
	}()
	stopTalking := make(chan struct{})
	talkDone := make(chan struct{})
	go func() {
		defer close(talkDone)
		sine := mediatest.NewSine(16000, 600, -10)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for seq := 0; ; seq++ {
			select {
			case <-stopTalking:
				return
			case <-tk.C:
			}
			pcm := sine.Samples(1600)
			b := make([]byte, 2*len(pcm))
			for i, v := range pcm {
				binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
			}
			msg := fmt.Sprintf(`{"type":"audio.input","sequence":%d,"timestamp_ms":%d,"speaker":"customer","audio":{"encoding":"pcm16","sample_rate_hz":16000,"payload":"%s"}}`,
				seq, seq*100, base64.StdEncoding.EncodeToString(b))
			if conn.WriteMessage(websocket.TextMessage, []byte(msg)) != nil {
				return
			}
		}
	}()
	defer func() { close(stopTalking); <-talkDone }()

	c := startChrome(t, wav)
	c.open(fmt.Sprintf("%s/demo/?session=%s&token=%s&autojoin=1&processing=off", g.base, sid, token))

	type pageState struct {
		Status string   `json:"status"`
		Events []string `json:"events"`
		Energy float64  `json:"energy"`
		CallID string   `json:"callId"`
	}
	var st pageState
	deadline := time.Now().Add(45 * time.Second)
	var firstEnergy float64
	for {
		c.eval("return window.voxgate", &st)
		if st.Status == "connected" && firstEnergy == 0 && st.Energy > 0 {
			firstEnergy = st.Energy
		}
		mu.Lock()
		enough := len(heard) >= 2*16000
		mu.Unlock()
		if st.Status == "connected" && slices.Contains(st.Events, "call.answered") && firstEnergy > 0 && st.Energy > firstEnergy && enough {
			break
		}
		if time.Now().After(deadline) {
			c.screenshot(artifact(t, "demo-failed.png"))
			t.Fatalf("page state %+v; subscriber heard %d samples", st, len(heard))
		}
		time.Sleep(250 * time.Millisecond)
	}
	c.screenshot(artifact(t, "demo.png"))

	// The browser's microphone tone reached the subscriber as the agent.
	mu.Lock()
	got := append([]int16(nil), heard[len(heard)-16000:]...)
	mu.Unlock()
	mediatest.CheckTone(t, got, 16000, mediatest.ToneWant{Freq: 1000, Level: -10, LevelTol: 6, MinSNR: 15})
	if !strings.HasPrefix(st.CallID, "call_") {
		t.Fatalf("page has no call id: %+v", st)
	}

	// Ending the session reaches the page too.
	g.post(t, "/v1/sessions/"+sid+"/end", "")
	deadline = time.Now().Add(15 * time.Second)
	for !slices.Contains(st.Events, "session.ended") {
		if time.Now().After(deadline) {
			t.Fatalf("the page never saw session.ended: %+v", st)
		}
		time.Sleep(200 * time.Millisecond)
		c.eval("return window.voxgate", &st)
	}
	<-readDone
}

// artifact returns where a test keeps a file for people to look at:
// e2e/artifacts (ignored by git).
func artifact(t *testing.T, name string) string {
	dir := "artifacts"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	t.Logf("artifact: e2e/%s", p)
	return p
}

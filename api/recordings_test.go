package api_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/voxgate/voxgate/api"
	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/session/sessiontest"
	"github.com/voxgate/voxgate/store/storetest"
)

// otherOrgKey mints a key of a second organization.
func otherOrgKey(t *testing.T, g *gateway) string {
	t.Helper()
	other, err := g.store.EnsureOrg(context.Background(), id.New(id.Organization), "other-"+id.New("x"))
	if err != nil {
		t.Fatal(err)
	}
	live := true
	v, err := api.MintKey(context.Background(), g.store, other.ID, api.NewKeyParams{Scopes: api.Scopes, Livemode: &live})
	if err != nil {
		t.Fatal(err)
	}
	return v.Secret
}

// decodedSeconds decodes an mp3 (mpg123) or ogg/opus (opusdec) download and
// returns its duration as sox reads it.
func decodedSeconds(t *testing.T, path string) float64 {
	t.Helper()
	dec := path + ".dec.wav"
	var cmd *exec.Cmd
	switch filepath.Ext(path) {
	case ".mp3":
		cmd = exec.Command("mpg123", "-q", "-w", dec, path)
	case ".ogg":
		cmd = exec.Command("opusdec", "--quiet", path, dec)
	default:
		dec = path
	}
	if cmd != nil {
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s (apt-get install mpg123 opus-tools)", cmd.Args, err, out)
		}
	}
	out, err := exec.Command("soxi", "-D", dec).Output()
	if err != nil {
		t.Fatalf("soxi %s: %v (apt-get install sox)", dec, err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRecordingRoutes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{session: session.Config{RecordingsDir: t.TempDir()}})
		key := g.key(true)
		sess := g.do("POST", "/v1/sessions", key, `{"mode":"media_stream","recording":{"enabled":true,"channels":"dual"}}`).want(t, 201).json(t)
		sid := sess["id"].(string)
		ctx := context.Background()
		for _, l := range []*sessiontest.ToneLeg{
			sessiontest.NewToneLeg("call_c", session.SpeakerCustomer, 440, -12, 100),
			sessiontest.NewToneLeg("call_a", session.SpeakerAgent, 1000, -6, 100),
		} {
			if err := g.sessions.AddLeg(ctx, sid, l); err != nil {
				t.Fatal(err)
			}
		}
		sub, err := g.sessions.Subscribe(ctx, sid, session.SubscribeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sessiontest.Hear(t, sub, session.SpeakerCustomer, 98*session.FrameSamples)
		g.do("POST", "/v1/sessions/"+sid+"/end", key, "").want(t, 200) // finishes the recordings

		list := g.do("GET", "/v1/sessions/"+sid+"/recordings", key, "").want(t, 200).json(t)
		data := list["data"].([]any)
		if len(data) != 2 {
			t.Fatalf("recordings %v", list)
		}
		var dual map[string]any
		for _, d := range data {
			if r := d.(map[string]any); r["channel"] == "dual" {
				dual = r
			}
		}
		recID := dual["id"].(string)
		got := g.do("GET", "/v1/recordings/"+recID, key, "").want(t, 200).json(t)
		if got["status"] != "ready" || got["object"] != "recording" || got["session_id"] != sid || got["format"] != "wav" ||
			got["sample_rate"] != 16000.0 || got["download_url"] != "/v1/recordings/"+recID+"/audio" {
			t.Fatalf("recording %v", got)
		}
		seconds := got["duration"].(float64)

		dir := t.TempDir()
		for _, f := range []struct{ format, ctype string }{{"wav", "audio/wav"}, {"mp3", "audio/mpeg"}, {"ogg", "audio/ogg"}} {
			r := g.do("GET", "/v1/recordings/"+recID+"/audio?format="+f.format, key, "").want(t, 200)
			if r.header.Get("Content-Type") != f.ctype || r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) ||
				r.header.Get("Content-Disposition") != `attachment; filename="`+recID+`.`+f.format+`"` || r.header.Get("Accept-Ranges") != "bytes" {
				t.Fatalf("%s headers %v", f.format, r.header)
			}
			path := filepath.Join(dir, "rec."+f.format)
			if err := os.WriteFile(path, r.body, 0o600); err != nil {
				t.Fatal(err)
			}
			if d := decodedSeconds(t, path); math.Abs(d-seconds) > 0.1 {
				t.Errorf("%s decodes to %.3f s, the recording is %.3f s", f.format, d, seconds)
			}
			if f.format != "wav" {
				continue
			}
			// A Range request returns exactly those bytes.
			part := g.do("GET", "/v1/recordings/"+recID+"/audio", key, "", header{"Range", "bytes=1000-1999"}).want(t, 206)
			if !bytes.Equal(part.body, r.body[1000:2000]) || part.header.Get("Content-Range") != "bytes 1000-1999/"+strconv.Itoa(len(r.body)) {
				t.Fatalf("range: %d bytes, Content-Range %q", len(part.body), part.header.Get("Content-Range"))
			}
			tail := g.do("GET", "/v1/recordings/"+recID+"/audio", key, "", header{"Range", "bytes=-44"}).want(t, 206)
			if !bytes.Equal(tail.body, r.body[len(r.body)-44:]) {
				t.Fatal("suffix range differs")
			}
			g.do("GET", "/v1/recordings/"+recID+"/audio", key, "", header{"Range", "bytes=99999999-"}).want(t, 416)
		}
		if c := g.do("GET", "/v1/recordings/"+recID+"/audio?format=flac", key, "").want(t, 400).errorCode(t); c != "invalid_request" {
			t.Fatal(c)
		}
		// Another organization's key finds nothing.
		other := otherOrgKey(t, g)
		for _, p := range []string{"/v1/recordings/" + recID, "/v1/recordings/" + recID + "/audio", "/v1/sessions/" + sid + "/recordings"} {
			g.do("GET", p, other, "").want(t, 404)
		}
		g.do("GET", "/v1/recordings/"+recID, g.key(true, "sessions:read"), "").want(t, 403)
	})
}

func TestTranscriptRoute(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e storetest.Engine) {
		g := startGateway(t, e.Config(t), options{})
		key := g.key(true)
		sid := g.do("POST", "/v1/sessions", key, `{"mode":"transcription"}`).want(t, 201).json(t)["id"].(string)
		empty := g.do("GET", "/v1/sessions/"+sid+"/transcript", key, "").want(t, 200).json(t)
		if empty["id"] != "trn_"+sid || empty["status"] != "in_progress" || len(empty["turns"].([]any)) != 0 {
			t.Fatalf("empty transcript %v", empty)
		}
		if _, err := g.sessions.AddTurn(context.Background(), sid, session.Turn{Speaker: session.SpeakerCustomer, Language: "en",
			Text: "Hello there", StartMS: 500, EndMS: 1500, Confidence: 0.9}); err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct{ format, ctype, body string }{
			{"text", "text/plain; charset=utf-8", "[00:00:00] customer: Hello there\n"},
			{"srt", "application/x-subrip; charset=utf-8", "1\n00:00:00,500 --> 00:00:01,500\ncustomer: Hello there\n\n"},
			{"vtt", "text/vtt; charset=utf-8", "WEBVTT\n\n1\n00:00:00.500 --> 00:00:01.500\n<v customer>Hello there\n\n"},
		} {
			r := g.do("GET", "/v1/sessions/"+sid+"/transcript?format="+f.format, key, "").want(t, 200)
			if r.header.Get("Content-Type") != f.ctype || string(r.body) != f.body {
				t.Fatalf("%s: %s %q", f.format, r.header.Get("Content-Type"), r.body)
			}
		}
		tr := g.do("GET", "/v1/sessions/"+sid+"/transcript?format=json", key, "").want(t, 200).json(t)
		if tr["metadata"].(map[string]any)["total_turns"] != 1.0 {
			t.Fatalf("transcript %v", tr)
		}
		g.do("GET", "/v1/sessions/"+sid+"/transcript?format=doc", key, "").want(t, 400)
		g.do("GET", "/v1/sessions/"+sid+"/transcript", otherOrgKey(t, g), "").want(t, 404)
	})
}

// Command echo-bot is a voice bot written for Twilio Media Streams: it
// sends every caller's audio straight back. Point a session's or agent's
// stream_url at it with stream_protocol "twilio" and the caller hears
// themself; any bot built for Twilio works the same way over voxgate.
//
//	echo-bot -addr 127.0.0.1:8765 -token secret
//
// It prints "listening ws://…" once, then each message other than media
// as "event <json>", so that tests and curious humans can follow a call.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sync"

	"github.com/gorilla/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "where to listen")
	token := flag.String("token", "", "bearer token callers must present (none: any)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening ws://%s/\n", ln.Addr())
	out := &lines{}
	log.Fatal(http.Serve(ln, &bot{token: *token, out: out}))
}

// lines prints whole lines from concurrent calls.
type lines struct{ mu sync.Mutex }

func (l *lines) print(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

type bot struct {
	token    string
	out      *lines
	upgrader websocket.Upgrader
}

// message is the part of a Twilio message the bot reads.
type message struct {
	Event     string `json:"event"`
	StreamSid string `json:"streamSid"`
	Media     *struct {
		Payload string `json:"payload"`
	} `json:"media"`
}

func (b *bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.token != "" && r.Header.Get("Authorization") != "Bearer "+b.token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	ws, err := b.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	for {
		_, raw, err := ws.ReadMessage()
		if err != nil {
			b.out.print("closed")
			return
		}
		var m message
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		if m.Event != "media" {
			b.out.print("event %s", raw)
			continue
		}
		if m.Media == nil {
			continue
		}
		echo, _ := json.Marshal(map[string]any{"event": "media", "streamSid": m.StreamSid, "media": map[string]string{"payload": m.Media.Payload}})
		if ws.WriteMessage(websocket.TextMessage, echo) != nil {
			b.out.print("closed")
			return
		}
	}
}

package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/stream"
)

// registerMetrics exposes the live sessions' and streams' counters.
func registerMetrics(reg *prometheus.Registry, m *session.Manager, h *stream.Handler) {
	counter := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
	}
	gauge := func(name, help string, f func() int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
	}
	reg.MustRegister(
		counter("voxgate_ws_audio_dropped_total", "Audio frames dropped from slow subscribers' queues.", func() uint64 { return m.Metrics().AudioDropped }),
		counter("voxgate_ws_slow_consumers_total", "Subscribers closed (4008) for falling behind on events.", func() uint64 { return m.Metrics().SlowConsumers }),
		gauge("voxgate_sessions_live", "Sessions with a leg or subscriber connected on this node.", func() int { return m.Metrics().LiveSessions }),
		gauge("voxgate_subscribers", "Connected /connect clients.", func() int { return m.Metrics().Subscribers }),
		gauge("voxgate_legs", "Connected call legs.", func() int { return m.Metrics().Legs }),
		counter("voxgate_ws_connections_total", "/connect WebSocket connections accepted.", func() uint64 { return h.Stats().Connections }),
		counter("voxgate_ws_messages_in_total", "Messages received from /connect clients.", func() uint64 { return h.Stats().MessagesIn }),
		counter("voxgate_ws_messages_out_total", "Messages sent to /connect clients.", func() uint64 { return h.Stats().MessagesOut }),
		counter("voxgate_ws_invalid_messages_total", "Client messages answered with session.error.", func() uint64 { return h.Stats().InvalidMessages }),
		counter("voxgate_ws_reply_overflows_total", "/connect clients closed (4008) for sending requests faster than they read the answers.", func() uint64 { return h.Stats().ReplyOverflows }),
		gauge("voxgate_ws_max_queued_audio_frames", "The longest audio queue of a /connect client, in frames.", func() int { return h.Stats().MaxQueuedAudio }),
		counter("voxgate_bot_audio_dropped_total", "Bot media dropped for being more than the playout limit ahead of real time.", func() uint64 { return h.Stats().BotAudioDropped }),
	)
}

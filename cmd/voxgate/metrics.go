package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/sip"
	"github.com/voxgate/voxgate/stream"
	"github.com/voxgate/voxgate/webhook"
)

// registerMetrics exposes the live sessions', streams' and webhooks' counters.
func registerMetrics(reg *prometheus.Registry, m *session.Manager, h *stream.Handler, w *webhook.Service) {
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
		gauge("voxgate_webhook_backlog", "Events not yet dispatched plus webhook deliveries waiting to be sent or retried.", func() int {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := w.Backlog(ctx)
			if err != nil {
				return -1
			}
			return n
		}),
		counter("voxgate_webhook_attempts_total", "Webhook requests sent.", func() uint64 { return w.Stats().Attempts }),
		counter("voxgate_webhook_attempt_failures_total", "Webhook attempts that failed (non-2xx, timeout, connection or TLS error).", func() uint64 { return w.Stats().Failures }),
		counter("voxgate_webhook_deliveries_failed_total", "Webhook deliveries given up after the last retry.", func() uint64 { return w.Stats().Failed }),
		counter("voxgate_webhook_deliveries_succeeded_total", "Webhook deliveries a receiver accepted.", func() uint64 { return w.Stats().Succeeded }),
	)
}

// registerSIPMetrics exposes the SIP server's capacity and abuse counters.
func registerSIPMetrics(reg *prometheus.Registry, s *sip.Server) {
	counter := func(name, help string, f func(sip.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(s.Stats())) })
	}
	gauge := func(name, help string, f func(sip.Stats) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(f(s.Stats())) })
	}
	reg.MustRegister(
		gauge("voxgate_sip_calls", "SIP calls in progress.", func(st sip.Stats) int { return st.LiveCalls }),
		counter("voxgate_sip_limited_total", "SIP requests dropped: over a source's rate or from a banned source.", func(st sip.Stats) uint64 { return st.Limited }),
		counter("voxgate_sip_bans_total", "Sources banned for going past their INVITE/REGISTER rate.", func(st sip.Stats) uint64 { return st.Bans }),
		gauge("voxgate_sip_banned_sources", "Sources banned now.", func(st sip.Stats) int { return st.Banned }),
		counter("voxgate_sip_trunk_full_total", "Calls refused at a trunk's max_concurrent_calls.", func(st sip.Stats) uint64 { return st.TrunkFull }),
		counter("voxgate_sip_org_full_total", "Calls refused at an organization's concurrent call cap.", func(st sip.Stats) uint64 { return st.OrgFull }),
	)
}

package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) routes(reg *prometheus.Registry, demo, connect http.Handler) http.Handler {
	rt := newRouter(s.middleware)
	// read: authenticated GET or DELETE; write: a body is read first; idem:
	// also replayable under an Idempotency-Key. s.forward sends a request
	// that creates or commands a live session to the node that runs it.
	read := func(scope string, h apiHandler) http.Handler { return s.authorized(scope, h) }
	write := func(scope string, h apiHandler) http.Handler { return s.authorized(scope, s.withBody(h)) }
	idem := func(scope string, h apiHandler) http.Handler {
		return s.authorized(scope, s.withBody(s.idempotent(h)))
	}

	rt.handle("GET /healthz", apiHandler(s.healthz))
	rt.handle("GET /readyz", apiHandler(s.readyz))
	rt.handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if demo != nil {
		rt.handle("GET /demo", demo)
		rt.handle("GET /demo/", demo)
	}

	rt.handle("GET /v1/api_keys", read("admin", s.listAPIKeys))
	rt.handle("POST /v1/api_keys", write("admin", s.createAPIKey))
	rt.handle("DELETE /v1/api_keys/{id}", read("admin", s.revokeAPIKey))

	rt.handle("GET /v1/agents", read("agents:read", s.listAgents))
	rt.handle("POST /v1/agents", idem("agents:write", s.createAgent))
	rt.handle("GET /v1/agents/{id}", read("agents:read", s.getAgent))
	rt.handle("PATCH /v1/agents/{id}", write("agents:write", s.updateAgent))
	rt.handle("DELETE /v1/agents/{id}", read("agents:write", s.deleteAgent))

	rt.handle("POST /v1/sessions", s.forward(idem("sessions:write", s.createSession), true))
	rt.handle("GET /v1/sessions/{id}", read("sessions:read", s.getSession))
	rt.handle("POST /v1/sessions/{id}/end", s.forward(idem("sessions:write", s.endSession), false))
	rt.handle("POST /v1/sessions/{id}/stream_tokens", s.forward(write("sessions:write", s.createStreamToken), false))

	if connect != nil {
		rt.handle("GET /v1/sessions/{id}/connect", s.forward(connect, false)) // the stream token authenticates
		rt.handle("OPTIONS /v1/sessions/{id}/connect", s.cors(http.NotFoundHandler()))
	}
	rt.handle("POST /v1/sessions/{id}/webrtc", s.forward(s.cors(s.tokenOrKey("sessions:write", s.withBody(s.webrtcOffer))), false))
	rt.handle("OPTIONS /v1/sessions/{id}/webrtc", s.cors(http.NotFoundHandler()))
	rt.handle("POST /v1/sessions/{id}/dial", s.forward(idem("calls:write", s.dial), false))
	rt.handle("POST /v1/sessions/{id}/hangup", s.forward(write("calls:write", s.hangup), false))
	rt.handle("GET /v1/sessions/{id}/calls", read("sessions:read", s.listCalls))
	rt.handle("GET /v1/calls", read("sessions:read", s.listCalls))
	rt.handle("POST /v1/calls", s.forward(idem("calls:write", s.createCalls), true))
	rt.handle("GET /v1/calls/{id}", read("sessions:read", s.getCall))

	rt.handle("GET /v1/sessions/{id}/transcript", read("sessions:read", s.getTranscript))
	rt.handle("GET /v1/sessions/{id}/recordings", read("recordings:read", s.listRecordings))
	rt.handle("GET /v1/recordings/{id}", read("recordings:read", s.getRecording))
	rt.handle("GET /v1/recordings/{id}/audio", read("recordings:read", s.recordingAudio))
	if s.analyses != nil {
		rt.handle("POST /v1/sessions/{id}/analysis", idem("analysis:write", s.createAnalysis))
		rt.handle("GET /v1/analyses/{id}", read("analysis:read", s.getAnalysis))
	}

	if s.webhooks != nil {
		rt.handle("GET /v1/webhook_endpoints", read("webhooks:read", s.listWebhookEndpoints))
		rt.handle("POST /v1/webhook_endpoints", write("webhooks:write", s.createWebhookEndpoint))
		rt.handle("GET /v1/webhook_endpoints/{id}", read("webhooks:read", s.getWebhookEndpoint))
		rt.handle("PATCH /v1/webhook_endpoints/{id}", write("webhooks:write", s.updateWebhookEndpoint))
		rt.handle("DELETE /v1/webhook_endpoints/{id}", read("webhooks:write", s.deleteWebhookEndpoint))
		rt.handle("GET /v1/webhook_endpoints/{id}/deliveries", read("webhooks:read", s.listWebhookDeliveries))
		rt.handle("POST /v1/webhook_endpoints/{id}/test", write("webhooks:write", s.testWebhookEndpoint))
		rt.handle("POST /v1/webhook_endpoints/{id}/rotate_secret", write("webhooks:write", s.rotateWebhookSecret))
	}

	rt.handle("GET /v1/sip_trunks", read("admin", s.listTrunks))
	rt.handle("POST /v1/sip_trunks", write("admin", s.createTrunk))
	rt.handle("GET /v1/sip_trunks/{id}", read("admin", s.getTrunk))
	rt.handle("PATCH /v1/sip_trunks/{id}", write("admin", s.updateTrunk))
	rt.handle("DELETE /v1/sip_trunks/{id}", read("admin", s.deleteTrunk))

	rt.handle("GET /v1/phone_numbers", read("admin", s.listPhoneNumbers))
	rt.handle("POST /v1/phone_numbers", write("admin", s.createPhoneNumber))
	rt.handle("GET /v1/phone_numbers/{id}", read("admin", s.getPhoneNumber))
	rt.handle("DELETE /v1/phone_numbers/{id}", read("admin", s.deletePhoneNumber))
	return rt.finish()
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if !s.ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining", "ready": false})
		return nil
	}
	if err := s.store.Ping(r.Context()); err != nil {
		info(r).logger.Warn("readiness: database unreachable")
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "database_unavailable", "ready": false})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "ready": true})
	return nil
}

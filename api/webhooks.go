package api

import (
	"net/http"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
	"github.com/voxgate/voxgate/webhook"
)

func (s *Server) createWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	var p webhook.EndpointParams
	if err := decode(r, &p); err != nil {
		return err
	}
	ep, err := s.webhooks.Create(r.Context(), info(r).scope, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ep)
	return nil
}

func (s *Server) getWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	ep, err := s.webhooks.Get(r.Context(), info(r).scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ep)
	return nil
}

func (s *Server) listWebhookEndpoints(w http.ResponseWriter, r *http.Request) error {
	lq, err := listQuery(r, id.WebhookEndpoint)
	if err != nil {
		return err
	}
	eps, more, err := s.webhooks.List(r.Context(), info(r).scope, lq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(r, eps, more, func(e webhook.Endpoint) string { return e.ID }))
	return nil
}

func (s *Server) updateWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	var p webhook.EndpointParams
	if err := decode(r, &p); err != nil {
		return err
	}
	ep, err := s.webhooks.Update(r.Context(), info(r).scope, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ep)
	return nil
}

func (s *Server) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := s.webhooks.Delete(r.Context(), info(r).scope, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deleted{ID: r.PathValue("id"), Object: "webhook_endpoint", Deleted: true})
	return nil
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	var p webhook.RotateParams
	if err := decode(r, &p); err != nil {
		return err
	}
	ep, err := s.webhooks.RotateSecret(r.Context(), info(r).scope, r.PathValue("id"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ep)
	return nil
}

func (s *Server) testWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	d, err := s.webhooks.SendTest(r.Context(), info(r).scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, d)
	return nil
}

func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	lq, err := listQuery(r, id.WebhookDelivery)
	if err != nil {
		return err
	}
	switch st := r.URL.Query().Get("status"); st {
	case "", store.DeliveryPending, store.DeliverySucceeded, store.DeliveryFailed:
		lq.Status = st
	default:
		return invalidParam("status", "invalid_request", "status must be pending, succeeded or failed.")
	}
	ds, more, err := s.webhooks.Deliveries(r.Context(), info(r).scope, r.PathValue("id"), lq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(r, ds, more, func(d webhook.Delivery) string { return d.ID }))
	return nil
}

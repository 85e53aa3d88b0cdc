package session

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// Trunk is a SIP trunk with its secrets, as the SIP server uses it: who may
// send calls in (CIDRs or digest credentials) and where calls go out.
type Trunk struct {
	ID                 string      `json:"id"`
	Scope              store.Scope `json:"-"`
	Name               string      `json:"name"`
	InboundCIDRs       []string    `json:"inbound_cidrs"`
	Username           string      `json:"username"`
	Password           string      `json:"password,omitempty"`
	OutboundHost       string      `json:"outbound_host"`
	OutboundPort       int         `json:"outbound_port"`
	Transport          string      `json:"transport"`     // udp, tcp or tls
	FromDomain         string      `json:"from_domain"`   // host of From on outbound calls
	NumberFormat       string      `json:"number_format"` // e164 or national
	SRTP               string      `json:"srtp"`          // disable, allow or require
	MaxConcurrentCalls int         `json:"max_concurrent_calls"`
	CreatedAt          time.Time   `json:"created_at"`
	UpdatedAt          time.Time   `json:"updated_at"`
}

// TrunkView is a trunk as the API shows it: the password is write-only.
type TrunkView struct {
	Trunk
	Object      string `json:"object"`
	Livemode    bool   `json:"livemode"`
	PasswordSet bool   `json:"password_set"`
}

// View returns the trunk without its password.
func (t Trunk) View() TrunkView {
	v := TrunkView{Trunk: t, Object: "sip_trunk", Livemode: t.Scope.Livemode, PasswordSet: t.Password != ""}
	v.Password = ""
	return v
}

// TrunkParams creates or changes a trunk; absent fields stay as they are.
type TrunkParams struct {
	Name               *string   `json:"name"`
	InboundCIDRs       *[]string `json:"inbound_cidrs"`
	Username           *string   `json:"username"`
	Password           *string   `json:"password"`
	OutboundHost       *string   `json:"outbound_host"`
	OutboundPort       *int      `json:"outbound_port"`
	Transport          *string   `json:"transport"`
	FromDomain         *string   `json:"from_domain"`
	NumberFormat       *string   `json:"number_format"`
	SRTP               *string   `json:"srtp"`
	MaxConcurrentCalls *int      `json:"max_concurrent_calls"`
}

func (p TrunkParams) apply(t *Trunk, creating bool) error {
	if creating && (p.Name == nil || *p.Name == "") {
		return invalid("name", CodeInvalidRequest, "The 'name' field is required.")
	}
	for dst, src := range map[*string]*string{&t.Name: p.Name, &t.Username: p.Username, &t.Password: p.Password,
		&t.OutboundHost: p.OutboundHost, &t.Transport: p.Transport, &t.FromDomain: p.FromDomain,
		&t.NumberFormat: p.NumberFormat, &t.SRTP: p.SRTP} {
		if src != nil {
			*dst = *src
		}
	}
	if p.InboundCIDRs != nil {
		t.InboundCIDRs = *p.InboundCIDRs
	}
	if p.OutboundPort != nil {
		t.OutboundPort = *p.OutboundPort
	}
	if p.MaxConcurrentCalls != nil {
		t.MaxConcurrentCalls = *p.MaxConcurrentCalls
	}
	if t.InboundCIDRs == nil {
		t.InboundCIDRs = []string{}
	}
	if t.Transport == "" {
		t.Transport = "udp"
	}
	if t.NumberFormat == "" {
		t.NumberFormat = "e164"
	}
	if t.SRTP == "" {
		t.SRTP = "disable"
	}
	if t.OutboundHost != "" && t.OutboundPort == 0 {
		t.OutboundPort = 5060
		if t.Transport == "tls" {
			t.OutboundPort = 5061
		}
	}
	return t.validate()
}

func (t *Trunk) validate() error {
	errs := []error{
		checkLength("name", t.Name, 200),
		checkOneOf("transport", t.Transport, "udp", "tcp", "tls"),
		checkOneOf("number_format", t.NumberFormat, "e164", "national"),
		checkOneOf("srtp", t.SRTP, "disable", "allow", "require"),
	}
	for i, c := range t.InboundCIDRs {
		if _, n, err := net.ParseCIDR(c); err == nil {
			t.InboundCIDRs[i] = n.String()
			continue
		}
		if ip := net.ParseIP(c); ip != nil { // a bare address is its /32 or /128
			bits := 32
			if ip.To4() == nil {
				bits = 128
			}
			t.InboundCIDRs[i] = (&net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}).String()
			continue
		}
		errs = append(errs, invalid("inbound_cidrs", CodeInvalidRequest, "%q is not a CIDR like 203.0.113.0/24", c))
	}
	if (t.Username == "") != (t.Password == "") {
		errs = append(errs, invalid("password", CodeInvalidRequest, "username and password go together"))
	}
	if t.OutboundHost != "" && (strings.ContainsAny(t.OutboundHost, " /@:") || t.OutboundPort < 1 || t.OutboundPort > 65535) {
		errs = append(errs, invalid("outbound_host", CodeInvalidRequest, "outbound_host must be a host name or address, outbound_port 1-65535"))
	}
	if t.MaxConcurrentCalls < 0 {
		errs = append(errs, invalid("max_concurrent_calls", CodeInvalidRequest, "max_concurrent_calls must not be negative"))
	}
	if len(t.InboundCIDRs) == 0 && t.Username == "" && t.OutboundHost == "" {
		errs = append(errs, invalid("inbound_cidrs", CodeInvalidRequest, "a trunk needs inbound_cidrs, credentials or an outbound_host"))
	}
	return firstError(errs...)
}

// CreateTrunk stores a new trunk.
func (m *Manager) CreateTrunk(ctx context.Context, sc store.Scope, p TrunkParams) (Trunk, error) {
	now := m.store.Now()
	t := Trunk{ID: id.New(id.SIPTrunk), Scope: sc, CreatedAt: now, UpdatedAt: now}
	if err := p.apply(&t, true); err != nil {
		return Trunk{}, err
	}
	if err := m.putTrunk(ctx, t, true); err != nil {
		return Trunk{}, err
	}
	return t, nil
}

func (m *Manager) putTrunk(ctx context.Context, t Trunk, creating bool) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	rec := store.Record{ID: t.ID, Scope: t.Scope, Status: "active", Data: data, Created: t.CreatedAt, Updated: t.UpdatedAt}
	err = m.store.Update(ctx, func(tx *store.Tx) error {
		if creating {
			return tx.Insert(store.SIPTrunks, rec)
		}
		return tx.Put(store.SIPTrunks, rec)
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err == nil {
		m.trunksVersion.Add(1)
	}
	return err
}

// GetTrunk returns a trunk of the scope (with its password).
func (m *Manager) GetTrunk(ctx context.Context, sc store.Scope, trunkID string) (Trunk, error) {
	rec, err := m.store.Get(ctx, store.SIPTrunks, sc, trunkID)
	if errors.Is(err, store.ErrNotFound) {
		return Trunk{}, ErrNotFound
	}
	if err != nil {
		return Trunk{}, err
	}
	return decodeTrunk(rec)
}

func decodeTrunk(rec store.Record) (Trunk, error) {
	var t Trunk
	if err := json.Unmarshal(rec.Data, &t); err != nil {
		return t, err
	}
	t.Scope = rec.Scope
	return t, nil
}

// UpdateTrunk changes the fields present in p.
func (m *Manager) UpdateTrunk(ctx context.Context, sc store.Scope, trunkID string, p TrunkParams) (Trunk, error) {
	t, err := m.GetTrunk(ctx, sc, trunkID)
	if err != nil {
		return Trunk{}, err
	}
	if err := p.apply(&t, false); err != nil {
		return Trunk{}, err
	}
	t.UpdatedAt = m.store.Now()
	return t, m.putTrunk(ctx, t, false)
}

// DeleteTrunk removes a trunk.
func (m *Manager) DeleteTrunk(ctx context.Context, sc store.Scope, trunkID string) error {
	err := m.store.Update(ctx, func(tx *store.Tx) error { return tx.Delete(store.SIPTrunks, sc, trunkID) })
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err == nil {
		m.trunksVersion.Add(1)
	}
	return err
}

// ListTrunks returns a page of the scope's trunks, newest first.
func (m *Manager) ListTrunks(ctx context.Context, sc store.Scope, lq store.ListQuery) ([]TrunkView, bool, error) {
	recs, more, err := m.store.List(ctx, store.SIPTrunks, sc, lq)
	if err != nil {
		return nil, false, err
	}
	out := make([]TrunkView, 0, len(recs))
	for _, r := range recs {
		t, err := decodeTrunk(r)
		if err != nil {
			return nil, false, err
		}
		out = append(out, t.View())
	}
	return out, more, nil
}

// AllTrunks returns every trunk of every organization, with secrets, for
// the SIP server.
func (m *Manager) AllTrunks(ctx context.Context) ([]Trunk, error) {
	recs, err := m.store.All(ctx, store.SIPTrunks)
	if err != nil {
		return nil, err
	}
	out := make([]Trunk, 0, len(recs))
	for _, r := range recs {
		t, err := decodeTrunk(r)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// TrunksVersion changes whenever a trunk is created, changed or deleted
// through this manager, so the SIP server knows when to reload.
func (m *Manager) TrunksVersion() uint64 { return m.trunksVersion.Load() }

// EnsureTrunk creates or replaces the trunk with this name in the scope, for
// trunks declared in the configuration file.
func (m *Manager) EnsureTrunk(ctx context.Context, sc store.Scope, p TrunkParams) (Trunk, error) {
	if p.Name == nil {
		return Trunk{}, invalid("name", CodeInvalidRequest, "The 'name' field is required.")
	}
	lq := store.ListQuery{Limit: 100}
	for {
		page, more, err := m.store.List(ctx, store.SIPTrunks, sc, lq)
		if err != nil {
			return Trunk{}, err
		}
		for _, r := range page {
			t, err := decodeTrunk(r)
			if err != nil {
				return Trunk{}, err
			}
			if t.Name == *p.Name {
				return m.UpdateTrunk(ctx, sc, t.ID, p)
			}
		}
		if !more {
			return m.CreateTrunk(ctx, sc, p)
		}
		lq.StartingAfter = page[len(page)-1].ID
	}
}

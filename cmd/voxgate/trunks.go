package main

import (
	"context"
	"fmt"

	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/session"
	"github.com/voxgate/voxgate/store"
)

// TrunkConfig declares a SIP trunk in the YAML file; at start it is created
// in its organization, or updated if one of that name exists.
type TrunkConfig struct {
	Org                string   `yaml:"org"`
	Test               bool     `yaml:"test"`
	Name               string   `yaml:"name"`
	InboundCIDRs       []string `yaml:"inbound_cidrs"`
	Username           string   `yaml:"username"`
	Password           string   `yaml:"password"`
	OutboundHost       string   `yaml:"outbound_host"`
	OutboundPort       int      `yaml:"outbound_port"`
	Transport          string   `yaml:"transport"`
	FromDomain         string   `yaml:"from_domain"`
	NumberFormat       string   `yaml:"number_format"`
	SRTP               string   `yaml:"srtp"`
	MaxConcurrentCalls int      `yaml:"max_concurrent_calls"`
}

// loadTrunks applies the trunks of the configuration file.
func loadTrunks(ctx context.Context, st *store.Store, m *session.Manager, trunks []TrunkConfig) error {
	for i, tc := range trunks {
		if tc.Org == "" || tc.Name == "" {
			return fmt.Errorf("trunks[%d]: org and name are required", i)
		}
		org, err := st.EnsureOrg(ctx, id.New(id.Organization), tc.Org)
		if err != nil {
			return err
		}
		p := session.TrunkParams{
			Name: &tc.Name, InboundCIDRs: &tc.InboundCIDRs, Username: &tc.Username, Password: &tc.Password,
			OutboundHost: &tc.OutboundHost, OutboundPort: &tc.OutboundPort, Transport: &tc.Transport,
			FromDomain: &tc.FromDomain, NumberFormat: &tc.NumberFormat, SRTP: &tc.SRTP, MaxConcurrentCalls: &tc.MaxConcurrentCalls,
		}
		if _, err := m.EnsureTrunk(ctx, store.Scope{OrgID: org.ID, Livemode: !tc.Test}, p); err != nil {
			return fmt.Errorf("trunks[%d] (%s): %w", i, tc.Name, err)
		}
	}
	return nil
}

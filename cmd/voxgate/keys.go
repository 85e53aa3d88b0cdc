package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/voxgate/voxgate/api"
	"github.com/voxgate/voxgate/id"
	"github.com/voxgate/voxgate/store"
)

// keys runs "voxgate keys create": it mints a key for an organization
// (created if new) straight in the database the gateway uses.
func keys(args []string, env func(string) string) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(os.Stderr, "usage: voxgate keys create --org NAME --scopes a,b [--test] [--name NAME] [--rate-limit N]\n")
		return 2
	}
	fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
	org := fs.String("org", "", "organization name (created if it does not exist)")
	scopes := fs.String("scopes", "", "comma-separated scopes, or 'all': "+strings.Join(api.Scopes, ","))
	test := fs.Bool("test", false, "mint a test-mode key (sk_test_)")
	name := fs.String("name", "", "a name for the key")
	rate := fs.Int("rate-limit", 0, "requests per minute for this key (0: the gateway's default)")
	dataDir := fs.String("data-dir", "", "as for serve (env VOXGATE_DATA_DIR)")
	dbURL := fs.String("database-url", "", "as for serve (env VOXGATE_DATABASE_URL)")
	configPath := fs.String("config", "", "as for serve (env VOXGATE_CONFIG)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	// The database settings come from the same layers as serve's.
	var layered []string
	if *configPath != "" {
		layered = append(layered, "--config", *configPath)
	}
	if *dataDir != "" {
		layered = append(layered, "--data-dir", *dataDir)
	}
	if *dbURL != "" {
		layered = append(layered, "--database-url", *dbURL)
	}
	cfg, _, err := loadConfig("keys", layered, env)
	if err != nil {
		fmt.Fprintln(os.Stderr, "voxgate keys:", err)
		return 2
	}
	if *org == "" || *scopes == "" {
		fmt.Fprintln(os.Stderr, "voxgate keys create: --org and --scopes are required")
		return 2
	}
	list := strings.Split(*scopes, ",")
	if *scopes == "all" {
		list = api.Scopes
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, cfg.storeConfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, "voxgate keys:", err)
		return 1
	}
	defer st.Close()
	secret, err := mintKey(ctx, st, *org, api.NewKeyParams{Name: *name, Scopes: list, Livemode: boolPtr(!*test), RateLimitPerMinute: *rate})
	if err != nil {
		fmt.Fprintln(os.Stderr, "voxgate keys:", err)
		return 1
	}
	fmt.Printf("# organization %s; scopes %s\n%s\n", *org, strings.Join(list, ","), secret)
	return 0
}

// mintKey ensures the organization and mints a key in it, returning the secret.
func mintKey(ctx context.Context, st *store.Store, orgName string, p api.NewKeyParams) (string, error) {
	o, err := st.EnsureOrg(ctx, id.New(id.Organization), orgName)
	if err != nil {
		return "", err
	}
	v, err := api.MintKey(ctx, st, o.ID, p)
	if err != nil {
		return "", err
	}
	return v.Secret, nil
}

func boolPtr(b bool) *bool { return &b }

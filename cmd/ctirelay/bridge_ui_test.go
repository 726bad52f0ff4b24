package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestUIBridgeConfigValidate(t *testing.T) {
	t.Parallel()
	secret := "0123456789abcdef"
	tests := []struct {
		name string
		uc   UIBridgeConfig
		bad  string // the key at fault, "" when valid
	}{
		{"disabled", UIBridgeConfig{}, ""},
		{"loopback open", UIBridgeConfig{Listen: UIDefaultAddr}, ""},
		{"localhost open", UIBridgeConfig{Listen: "localhost:8481"}, ""},
		{"not host:port", UIBridgeConfig{Listen: "8481"}, "bridges.ui.listen"},
		{"open beyond loopback", UIBridgeConfig{Listen: "0.0.0.0:8481"}, "bridges.ui.tokens"},
		{"tokens beyond loopback", UIBridgeConfig{Listen: "0.0.0.0:8481", Tokens: []UIToken{{Name: "ops", Secret: secret, Groups: []string{"events"}}}}, ""},
		{"short secret", UIBridgeConfig{Listen: UIDefaultAddr, Tokens: []UIToken{{Secret: "short", Groups: []string{"admin"}}}}, "bridges.ui.tokens[0].secret"},
		{"no groups", UIBridgeConfig{Listen: UIDefaultAddr, Tokens: []UIToken{{Secret: secret}}}, "bridges.ui.tokens[0].groups"},
		{"unknown group", UIBridgeConfig{Listen: UIDefaultAddr, Tokens: []UIToken{{Secret: secret, Groups: []string{"commands"}}}}, "bridges.ui.tokens[0].groups"},
		{"half TLS", UIBridgeConfig{Listen: UIDefaultAddr, TLSCert: "c.pem"}, "bridges.ui.tls_cert"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var keys []string
			tc.uc.validate(func(key, _ string, _ ...any) { keys = append(keys, key) })
			if tc.bad == "" && len(keys) > 0 || tc.bad != "" && (len(keys) != 1 || keys[0] != tc.bad) {
				t.Fatalf("faults %q, want %q", keys, tc.bad)
			}
		})
	}
}

// TestUIBridgeServes: the stand-in listener serves the dashboard and its
// sign-in, and stops twice.
func TestUIBridgeServes(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	feed, err := relay.NewFeed(relay.FeedConfig{Store: s, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := feed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer feed.Stop()
	cfg := DefaultConfig()
	cfg.Bridges.UI = UIBridgeConfig{Listen: "127.0.0.1:0", Tokens: []UIToken{{Name: "ops", Secret: "0123456789abcdef", Groups: []string{"events"}}}}
	b, err := newUIBridge(cfg, s, feed, relay.SystemClock{}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + b.ListenAddr().String()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `name="token"`) {
		t.Fatalf("GET / (redirected to /ui/): %s %s", resp.Status, body)
	}
	for secret, signed := range map[string]bool{"0123456789abcdef": true, "0123456789abcdeX": false} {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(base+"/ui/login", url.Values{"token": {secret}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := len(resp.Cookies()) == 1; got != signed {
			t.Errorf("sign in with %q: cookies %v", secret, resp.Cookies())
		}
	}
	b.Stop()
	b.Stop()
}

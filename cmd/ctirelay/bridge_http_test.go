package main

import (
	"strings"
	"testing"
)

func TestHTTPBridgeConfig(t *testing.T) {
	t.Parallel()
	const secret = "a-very-long-token-secret-0123456789"
	for _, tc := range []struct {
		name, yaml, err string
	}{
		{"default loopback", "", ""},
		{"disabled", "bridges:\n  http:\n    listen: \"\"\n", ""},
		{"open to the network", "bridges:\n  http:\n    listen: 0.0.0.0:8480\n", "bridges.http.listen"},
		{"tokens make it fine", "bridges:\n  http:\n    listen: 0.0.0.0:8480\n    tokens:\n      - {name: erp, secret: " + secret + ", groups: [commands]}\n", ""},
		{"unknown group", "bridges:\n  http:\n    tokens:\n      - {name: erp, secret: " + secret + ", groups: [root]}\n", "unknown group"},
		{"short secret", "bridges:\n  http:\n    tokens:\n      - {name: erp, secret: zq9xw, groups: [admin]}\n", "tokens[0].secret"},
		{"webhook secret", "bridges:\n  http:\n    webhooks:\n      - {name: crm, url: http://127.0.0.1:9/x, secret: plain}\n", "whsec_"},
		{"webhook url", "bridges:\n  http:\n    webhooks:\n      - {name: crm, url: ftp://x, secret: whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}\n", "url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := LoadConfig(writeConfig(t, tc.yaml))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.name == "default loopback" && cfg.Bridges.HTTP.Listen != "127.0.0.1:8480" {
					t.Fatalf("listen %q", cfg.Bridges.HTTP.Listen)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "zq9xw") {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
}

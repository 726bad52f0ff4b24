package httpdial_test

import (
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/httpdial"
)

func TestDialRules(t *testing.T) {
	t.Parallel()
	doc := httpdial.DialRules{InternalMaxLen: 4}
	zero := httpdial.DialRules{ZeroDDD: true, InternalMaxLen: 4}
	line := httpdial.DialRules{UseLine: true, LinePrefix: "9", InternalMaxLen: 4}
	both := httpdial.DialRules{ZeroDDD: true, UseLine: true, LinePrefix: "0", InternalMaxLen: 4}
	listed := httpdial.DialRules{ZeroDDD: true, InternalMaxLen: -1, Internal: []string{"3502", "850"}}
	cases := []struct {
		name       string
		rules      httpdial.DialRules
		ddd, phone string
		want       string
	}{
		{"the sample dial, no rules", doc, "85", "40050500", "8540050500"},
		{"usa_zero_ddd", zero, "85", "40050500", "08540050500"},
		{"usa_zero_ddd keeps a zero already there", zero, "085", "40050500", "08540050500"},
		{"usa_zero_ddd, not on an extension", zero, "", "3502", "3502"},
		{"usa_linha", line, "85", "40050500", "98540050500"},
		{"usa_linha, not on an extension", line, "", "3502", "3502"},
		{"line before the zero", both, "85", "40050500", "008540050500"},
		{"no DDD", zero, "", "40050500", "040050500"},
		{"separators are not dialled", doc, "(85)", "4005-0500", "8540050500"},
		{"internal by list", listed, "", "3502", "3502"},
		{"internal by list, DDD and number together", listed, "8", "50", "850"},
		{"not internal when the length rule is off", listed, "", "3503", "03503"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.rules.Destination(c.ddd, c.phone)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("Destination(%q, %q) = %q, want %q", c.ddd, c.phone, got, c.want)
			}
		})
	}
}

func TestDialRulesRefuse(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ ddd, phone string }{{"85", ""}, {"85", "4005x0500"}, {"8a", "40050500"}, {"", "+5585"}} {
		_, err := httpdial.DialRules{}.Destination(c.ddd, c.phone)
		if err == nil || relay.AsProtocolError(err).Code != relay.CodeBadArgs {
			t.Errorf("Destination(%q, %q) = %v, want BAD_ARGS", c.ddd, c.phone, err)
		}
	}
}

// The rules apply to the dial the relay sends: <jose><A><85><40050500><>$
// with usa_zero_ddd and a line reaches the platform as 098540050500.
func TestDialRulesReachThePlatform(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		rules httpdial.DialRules
		frame string
		want  string
	}{
		{"none", httpdial.DialRules{}, "<jose><A><85><40050500><>$", "/api/clicktodial?origem=3501&destino=8540050500"},
		{"zero and line", httpdial.DialRules{ZeroDDD: true, UseLine: true, LinePrefix: "9"}, "<jose><A><85><40050500><>$", "/api/clicktodial?origem=3501&destino=908540050500"},
		{"an extension, by default length", httpdial.DialRules{ZeroDDD: true}, "<jose><A><><3502><>$", "/api/clicktodial?origem=3501&destino=3502"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t)
			cfg := p.config(t)
			cfg.Rules = c.rules
			d := newDriver(t, cfg)
			if _, err := execute(t, d, c.frame); err != nil {
				t.Fatal(err)
			}
			if got := p.requests()[0].URI; got != c.want {
				t.Fatalf("URI %q, want %q", got, c.want)
			}
		})
	}
}

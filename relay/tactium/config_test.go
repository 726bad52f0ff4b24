package tactium_test

import (
	"testing"

	"github.com/ctirelay/ctirelay/relay/tactium"
)

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []tactium.Config{
		{},
		{Addr: ":34025"},
		{Addr: "switch", AdminSecret: "a<b"},
		{Addr: "switch", ReplyTimeout: -1},
	} {
		if _, err := tactium.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

package httpdial_test

import (
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/httpdial"
)

// Each bad setting is refused with the name of its key.
func TestConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	ok := func() httpdial.Config {
		return httpdial.Config{Host: "pbx.example", Agents: map[string]httpdial.Agent{"jose": {Extension: "3501"}}}
	}
	cases := []struct {
		name string
		edit func(c *httpdial.Config)
		want string
	}{
		{"protocol", func(c *httpdial.Config) { c.Protocol = "ftp" }, "protocol: "},
		{"host", func(c *httpdial.Config) { c.Host = "" }, "host: "},
		{"host with a path", func(c *httpdial.Config) { c.Host = "pbx/x" }, "host: "},
		{"port", func(c *httpdial.Config) { c.Port = "8.080" }, "port: "},
		{"path", func(c *httpdial.Config) { c.Path = "api?x=1" }, "path: "},
		{"origin var", func(c *httpdial.Config) { c.OriginVar = "a b" }, "origin_var: "},
		{"destination var", func(c *httpdial.Config) { c.DestinationVar = "a&b" }, "destination_var: "},
		{"method", func(c *httpdial.Config) { c.Method = "PUT" }, "method: "},
		{"auth", func(c *httpdial.Config) { c.Auth = 5 }, "auth: "},
		{"basic without password", func(c *httpdial.Config) { c.Auth = httpdial.AuthBasic }, "agents.jose: "},
		{"token missing", func(c *httpdial.Config) { c.Auth = httpdial.AuthURLToken }, "agents.jose: "},
		{"extension", func(c *httpdial.Config) { c.Agents["maria"] = httpdial.Agent{Extension: "35a"} }, "agents.maria.extension: "},
		{"extension twice", func(c *httpdial.Config) { c.Agents["maria"] = httpdial.Agent{Extension: "3501"} }, "agents.maria.extension: 3501 is also jose's"},
		{"line without number", func(c *httpdial.Config) { c.Rules.UseLine = true }, "line_number: "},
		{"url for S", func(c *httpdial.Config) { c.Templates = map[relay.Verb]string{"S": "http://x/"} }, "urls.S: "},
		{"url placeholder", func(c *httpdial.Config) { c.Templates = map[relay.Verb]string{"D": "http://x/?r=$ramall"} }, "urls.D: unknown placeholder $ramall"},
		{"url scheme", func(c *httpdial.Config) { c.Templates = map[relay.Verb]string{"D": "ftp://x/"} }, "urls.D: "},
		{"vars", func(c *httpdial.Config) { c.Vars = httpdial.Vars{Origin: "x", Destination: "x"} }, "vars: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok()
			c.edit(&cfg)
			_, err := httpdial.New(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, want an error with %q", err, c.want)
			}
		})
	}
	if _, err := httpdial.New(ok()); err != nil {
		t.Fatalf("the good config: %v", err)
	}
}

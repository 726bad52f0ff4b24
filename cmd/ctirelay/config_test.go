package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ctirelay.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultConfigIsTheEmbeddedDefault(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.DSN != "sqlite:ctirelay.db" || cfg.Switch.Driver != "sim" || cfg.Database.Migrate != "auto" ||
		cfg.Bridges.Socket.Listen != "127.0.0.1:34026" {
		t.Fatalf("default config = %+v", cfg)
	}
	empty, err := LoadConfig(writeConfig(t, ""))
	if err != nil {
		t.Fatalf("an empty file means all defaults: %v", err)
	}
	if empty.Database.DSN != cfg.Database.DSN {
		t.Fatalf("empty file DSN = %q", empty.Database.DSN)
	}
}

func TestConfigReadsEveryKey(t *testing.T) {
	t.Setenv("CTIRELAY_TEST_PASSWORD", "s3cr$t")
	cfg, err := LoadConfig(writeConfig(t, `
database:
  dsn: postgres://relay:${CTIRELAY_TEST_PASSWORD}@db/erp?sslmode=disable
  schema: cti
  inbound_table: T_TTI
  outbound_table: T_TTO
  prefix: relay_
  notify_trigger: true
  migrate: "off"
switch:
  driver: sim
  sim: {seed: 7, inbound_per_minute: 3, dialer_per_minute: 1, ring_time: 2s, talk_time: 1m, wrap_up: 5s, think_time: 10ms}
engine:
  max_in_flight: 64
  intake_batch: 500
  write_batch: 200
  poll_interval: 50ms
  lease: 20s
  exec_timeout: 3s
  max_attempts: 7
  backoff_base: 100ms
  backoff_max: 10s
  in_doubt: retry
  max_frame_bytes: 4096
  shutdown_timeout: 15s
bridges:
  socket:
    listen: 0.0.0.0:4000
    max_conns: 10
    idle_timeout: 2m
    max_frame_bytes: 2048
    charset: windows-1252
    admin_secret: ${CTIRELAY_TEST_SECRET:-m0nitor}
    tls_cert: /etc/ctirelay/cert.pem
    tls_key: /etc/ctirelay/key.pem
    poll_interval: 20ms
log: {level: debug, format: json}
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.DSN != "postgres://relay:s3cr$t@db/erp?sslmode=disable" {
		t.Fatalf("dsn = %q (env expansion must leave a literal $ alone)", cfg.Database.DSN)
	}
	if cfg.Database.Schema != "cti" || !cfg.Database.NotifyTrigger || cfg.Database.Migrate != "off" {
		t.Fatalf("database = %+v", cfg.Database)
	}
	if cfg.Switch.Sim.Seed != 7 || time.Duration(cfg.Switch.Sim.TalkTime) != time.Minute || time.Duration(cfg.Switch.Sim.ThinkTime) != 10*time.Millisecond {
		t.Fatalf("sim = %+v", cfg.Switch.Sim)
	}
	e := cfg.Engine
	if e.MaxInFlight != 64 || time.Duration(e.Lease) != 20*time.Second || e.InDoubt != "retry" || e.MaxFrameBytes != 4096 || time.Duration(e.ShutdownTimeout) != 15*time.Second {
		t.Fatalf("engine = %+v", e)
	}
	want := SocketBridgeConfig{Listen: "0.0.0.0:4000", MaxConns: 10, IdleTimeout: Duration(2 * time.Minute), MaxFrameBytes: 2048,
		Charset: "windows-1252", AdminSecret: "m0nitor", TLSCert: "/etc/ctirelay/cert.pem", TLSKey: "/etc/ctirelay/key.pem",
		PollInterval: Duration(20 * time.Millisecond)}
	if cfg.Bridges.Socket != want {
		t.Fatalf("bridges.socket = %+v, want %+v", cfg.Bridges.Socket, want)
	}
	if cfg.Log.Level != "debug" || cfg.Log.Format != "json" {
		t.Fatalf("log = %+v", cfg.Log)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, want string
	}{
		{"unknown top-level key", "databse: {}\n", `unknown key "databse" in the top level`},
		{"unknown nested key", "engine:\n  max_inflight: 3\n", `unknown key "max_inflight" in engine`},
		{"bad duration", "engine:\n  lease: soon\n", `not a duration`},
		{"short lease", "engine:\n  lease: 100ms\n", "engine.lease: at least 1s"},
		{"bad policy", "engine:\n  in_doubt: maybe\n", `engine.in_doubt: must be dead or retry, not "maybe"`},
		{"bad driver", "switch:\n  driver: asterisk\n", `switch.driver: unknown driver "asterisk"`},
		{"bad dsn", "database:\n  dsn: mysql://x\n", "database.dsn:"},
		{"bad table name", "database:\n  inbound_table: \"T_TTI; DROP TABLE x\"\n", "invalid inbound_table"},
		{"bad migrate", "database:\n  migrate: sometimes\n", "database.migrate: must be auto or off"},
		{"negative", "engine:\n  max_in_flight: -1\n", "engine.max_in_flight: must not be negative"},
		{"max inbox", "engine:\n  max_inbox: -2\n", "engine.max_inbox: -1 (no bound), 0 (the default) or a number of commands"},
		{"bad log level", "log:\n  level: loud\n", "log.level"},
		{"wrong type", "engine:\n  max_attempts: many\n", "max_attempts"},
		{"missing env", "database:\n  dsn: ${CTIRELAY_TEST_UNSET_VARIABLE}\n", "environment variable CTIRELAY_TEST_UNSET_VARIABLE is not set"},
		// Named once however often it is used (agents sharing a password).
		{"missing env twice", "database:\n  dsn: ${CTIRELAY_TEST_UNSET_VARIABLE}\n  schema: ${CTIRELAY_TEST_UNSET_VARIABLE}\n", "environment variable CTIRELAY_TEST_UNSET_VARIABLE is not set"},
		{"unknown socket key", "bridges:\n  socket:\n    port: 34026\n", `line 3: unknown key "port" in bridges.socket`},
		{"unknown bridge", "bridges:\n  sockets: {}\n", `unknown key "sockets" in bridges`},
		{"socket listen", "bridges:\n  socket:\n    listen: \"34026\"\n", `bridges.socket.listen: must be host:port, e.g. 127.0.0.1:34026, or "" to disable the bridge, not "34026"`},
		{"socket charset", "bridges:\n  socket:\n    charset: latin9\n", `bridges.socket.charset: unknown charset "latin9"`},
		{"socket tls", "bridges:\n  socket:\n    tls_cert: c.pem\n", "bridges.socket.tls_cert: tls_cert and tls_key go together"},
		{"socket secret", "bridges:\n  socket:\n    admin_secret: a$b\n", "bridges.socket.admin_secret: must not contain"},
		{"socket negative", "bridges:\n  socket:\n    max_conns: -1\n", "bridges.socket.max_conns: must not be negative"},
		{"socket idle", "bridges:\n  socket:\n    idle_timeout: forever\n", "not a duration"},
		{"socket frame rate", "bridges:\n  socket:\n    frame_rate: -5\n", "bridges.socket.frame_rate: must not be negative"},
		{"socket outbound bytes", "bridges:\n  socket:\n    outbound_bytes: lots\n", "not a size"},
		{"memory limit", "memory_limit: 2TB\n", "not a size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadConfig(writeConfig(t, c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestConfigMaxInboxMinusOneLiftsTheBound(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(writeConfig(t, "engine:\n  max_inbox: -1\n"))
	if err != nil || cfg.Engine.MaxInbox != -1 {
		t.Fatalf("max_inbox -1: %+v, %v", cfg.Engine, err)
	}
}

func TestConfigEnvDefault(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(writeConfig(t, "database:\n  dsn: ${CTIRELAY_TEST_UNSET_DSN:-sqlite:other.db}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.DSN != "sqlite:other.db" {
		t.Fatalf("dsn = %q", cfg.Database.DSN)
	}
}

func TestShippedFullConfigLoads(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(filepath.Join("..", "..", "testdata", "config", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(cfg.Engine.Lease) != 30*time.Second || cfg.Engine.InDoubt != "dead" || cfg.Engine.MaxInbox != 2256 {
		t.Fatalf("full.yaml engine = %+v", cfg.Engine)
	}
	if def := DefaultConfig(); cfg.Bridges.Socket.Listen != def.Bridges.Socket.Listen || cfg.Bridges.Socket.MaxConns != 1024 {
		t.Fatalf("full.yaml bridges.socket = %+v", cfg.Bridges.Socket)
	}
}

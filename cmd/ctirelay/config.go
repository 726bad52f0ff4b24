package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	httpbridge "github.com/ctirelay/ctirelay/bridges/http"
	"github.com/ctirelay/ctirelay/bridges/socket"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// Config is the whole YAML configuration file. Every key is optional; the
// zero file is the embedded default (SQLite in the working directory and the
// simulated switch).
type Config struct {
	Database DatabaseConfig `yaml:"database"`
	Switch   SwitchConfig   `yaml:"switch"`
	Engine   EngineConfig   `yaml:"engine"`
	Bridges  BridgesConfig  `yaml:"bridges"`
	Log      LogConfig      `yaml:"log"`
	// MemoryLimit is the soft memory limit the garbage collector honours
	// (debug.SetMemoryLimit; GOMEMLIMIT overrides it): see gc.go.
	MemoryLimit ByteSize `yaml:"memory_limit"`
	// Scheduler and Jobs: the scheduled jobs, run by one relay of the
	// cluster (jobs_config.go).
	Scheduler SchedulerSettings `yaml:"scheduler"`
	Jobs      JobsConfig        `yaml:"jobs"`
}

// DatabaseConfig says where the queues live.
type DatabaseConfig struct {
	DSN           string `yaml:"dsn"` // sqlite:PATH | postgres://… | sqlserver://…
	Schema        string `yaml:"schema"`
	InboundTable  string `yaml:"inbound_table"`
	OutboundTable string `yaml:"outbound_table"`
	Prefix        string `yaml:"prefix"`
	// NotifyTrigger installs a statement trigger on T_TTI that wakes the relay
	// at once on PostgreSQL (otherwise it polls).
	NotifyTrigger bool `yaml:"notify_trigger"`
	// ExplicitIDs: the ERP numbers its own T_TTI/T_TTO rows, so the relay
	// creates those tables (when absent) without IDENTITY and numbers its
	// T_TTO rows itself (SQL Server; docs/operations.md).
	ExplicitIDs bool `yaml:"explicit_ids"`
	// Migrate is "auto" (run applies pending migrations) or "off" (a DBA runs
	// ctirelay migrate after reviewing ctirelay migrate --print).
	Migrate string `yaml:"migrate"`
}

// SwitchConfig picks and configures the switch driver.
type SwitchConfig struct {
	Driver   string         `yaml:"driver"` // sim | tactium | epbx | httpdial
	Sim      SimConfig      `yaml:"sim"`
	Tactium  TactiumConfig  `yaml:"tactium"`
	EPBX     EPBXConfig     `yaml:"epbx"`
	HTTPDial HTTPDialConfig `yaml:"httpdial"`
}

// TactiumConfig points the tactium driver at a Tactium IP Integration socket.
type TactiumConfig struct {
	Address      string   `yaml:"address"`      // host[:port], port 34025 by default
	AdminSecret  string   `yaml:"admin_secret"` // sent with <ADMSOCKET><L><ON> when the server asks for one
	Charset      string   `yaml:"charset"`      // utf-8 | windows-1252
	TLS          bool     `yaml:"tls"`
	DialTimeout  Duration `yaml:"dial_timeout"`
	ReplyTimeout Duration `yaml:"reply_timeout"`
	IdleClose    Duration `yaml:"idle_close"`
}

// SimConfig configures the simulated switch.
type SimConfig struct {
	Seed             int64    `yaml:"seed"`
	InboundPerMinute float64  `yaml:"inbound_per_minute"`
	DialerPerMinute  float64  `yaml:"dialer_per_minute"`
	RingTime         Duration `yaml:"ring_time"`
	TalkTime         Duration `yaml:"talk_time"`
	WrapUp           Duration `yaml:"wrap_up"`
	ThinkTime        Duration `yaml:"think_time"`
}

// EngineConfig tunes dispatch, retries and leases.
type EngineConfig struct {
	MaxInFlight     int      `yaml:"max_in_flight"`
	IntakeBatch     int      `yaml:"intake_batch"`
	MaxInbox        int      `yaml:"max_inbox"`
	WriteBatch      int      `yaml:"write_batch"`
	PollInterval    Duration `yaml:"poll_interval"`
	Lease           Duration `yaml:"lease"`
	ExecTimeout     Duration `yaml:"exec_timeout"`
	MaxAttempts     int      `yaml:"max_attempts"`
	BackoffBase     Duration `yaml:"backoff_base"`
	BackoffMax      Duration `yaml:"backoff_max"`
	InDoubt         string   `yaml:"in_doubt"` // dead | retry
	MaxFrameBytes   int      `yaml:"max_frame_bytes"`
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// ShutdownGrace bounds the last database writes at shutdown, after
	// shutdown_timeout (relay.DefaultShutdownGrace).
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// SpillDir holds what a stopping relay could not write to the database
	// (default: the working directory).
	SpillDir string `yaml:"spill_dir"`
}

// BridgesConfig configures the bridges: other ways into the same queue.
type BridgesConfig struct {
	Socket SocketBridgeConfig `yaml:"socket"`
	CRM    CRMBridgeConfig    `yaml:"crm"`
	UI     UIBridgeConfig     `yaml:"ui"` // the dashboard (bridge_ui.go)
	File   FileBridgeConfig   `yaml:"file"`
	HTTP   HTTPBridgeConfig   `yaml:"http"`
}

// SocketBridgeConfig is the Tactium-compatible socket bridge.
type SocketBridgeConfig struct {
	Listen        string   `yaml:"listen"` // host:port; "" disables the bridge
	MaxConns      int      `yaml:"max_conns"`
	IdleTimeout   Duration `yaml:"idle_timeout"`
	MaxFrameBytes int      `yaml:"max_frame_bytes"`
	Charset       string   `yaml:"charset"`      // utf-8 | windows-1252
	AdminSecret   string   `yaml:"admin_secret"` // required with <ADMSOCKET><L><ON><secret>$ when set
	TLSCert       string   `yaml:"tls_cert"`     // PEM files; both or neither
	TLSKey        string   `yaml:"tls_key"`
	PollInterval  Duration `yaml:"poll_interval"` // how often the journal is read for replies and events
	// Protection from clients (tactiumserver.Limits): frames read per
	// second from one connection, bytes queued for one connection's
	// reader, and for every connection's together.
	FrameRate        int      `yaml:"frame_rate"`
	MaxMonitors      int      `yaml:"max_monitors"`
	OutboundBytes    ByteSize `yaml:"outbound_bytes"`
	MaxBufferedBytes ByteSize `yaml:"max_buffered_bytes"`
}

// LogConfig sets up slog.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Duration reads "250ms", "30s", "5m" from YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration (use e.g. 250ms, 30s, 5m): %q", s)
	}
	if v < 0 {
		return fmt.Errorf("negative duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// ByteSize reads "512MiB", "64KiB", "1GiB" or a plain number of bytes
// from YAML.
type ByteSize int64

// UnmarshalYAML parses a size with an optional KiB, MiB or GiB suffix.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = ByteSize(v)
	return nil
}

func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > math.MaxInt64/mult {
		return 0, fmt.Errorf("not a size (use e.g. 512MiB, 64KiB or a number of bytes): %q", s)
	}
	return v * mult, nil
}

// DefaultDSN is the embedded default database: a file in the working directory.
const DefaultDSN = "sqlite:ctirelay.db"

// DefaultConfig is what `ctirelay run` uses with no configuration file.
func DefaultConfig() Config {
	return Config{
		Database: DatabaseConfig{DSN: DefaultDSN, Migrate: "auto"},
		Switch: SwitchConfig{Driver: "sim", Sim: SimConfig{
			Seed: 1, InboundPerMinute: 0, RingTime: Duration(2 * time.Second),
			TalkTime: Duration(20 * time.Second), WrapUp: Duration(0),
		}},
		Bridges: BridgesConfig{Socket: SocketBridgeConfig{Listen: socket.DefaultAddr}, HTTP: HTTPBridgeConfig{Listen: httpbridge.DefaultAddr}, UI: UIBridgeConfig{Enabled: true}},
		Log:     LogConfig{Level: "info", Format: "text"},
		Jobs:    defaultJobs(),
	}
}

// LoadConfig reads a YAML file over the defaults. ${NAME} and ${NAME:-default}
// are replaced from the environment first, so secrets stay out of the file.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	if path == "" {
		return cfg, cfg.Validate()
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	expanded, err := expandEnv(string(raw))
	if err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(expanded), &root); err != nil {
		return cfg, fmt.Errorf("config %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(expanded)))
	dec.KnownFields(true)
	// io.EOF: an empty file means all defaults.
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("config %s: %s", path, friendlyYAMLError(err, &root))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${NAME} (error when unset) and ${NAME:-default} outside
// YAML comments. A bare $ is left alone: frames end with one.
func expandEnv(s string) (string, error) {
	var missing []string
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		code, comment := splitComment(line)
		lines[i] = envRef.ReplaceAllStringFunc(code, func(m string) string {
			sub := envRef.FindStringSubmatch(m)
			if v, ok := os.LookupEnv(sub[1]); ok {
				return v
			}
			if sub[2] != "" {
				return sub[3]
			}
			if !slices.Contains(missing, sub[1]) {
				missing = append(missing, sub[1])
			}
			return m
		}) + comment
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return strings.Join(lines, "\n"), nil
}

// splitComment cuts a YAML line at a '#' that starts a comment: at the start
// or after a blank, outside quotes.
func splitComment(line string) (code, comment string) {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i], line[i:]
		}
	}
	return line, ""
}

var (
	yamlLine         = regexp.MustCompile(`line (\d+): (.*)`)
	yamlUnknownField = regexp.MustCompile(`field (\S+) not found in type main\.\w+`)
)

// friendlyYAMLError rewrites each "line N: …" of a decoding error to name the
// key at fault the way the file spells it (engine.max_attempts: …).
func friendlyYAMLError(err error, root *yaml.Node) string {
	var out []string
	for _, line := range strings.Split(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n"), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "yaml: "))
		m := yamlLine.FindStringSubmatch(line)
		if m == nil {
			out = append(out, line)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		msg := m[2]
		key := keyAtLine(root, n, "")
		if u := yamlUnknownField.FindStringSubmatch(msg); u != nil {
			section := "the top level"
			if i := strings.LastIndexByte(key, '.'); i >= 0 {
				section = key[:i]
			}
			msg = fmt.Sprintf("unknown key %q in %s", u[1], section)
		} else if key != "" {
			msg = key + ": " + msg
		}
		out = append(out, fmt.Sprintf("line %d: %s", n, msg))
	}
	return strings.Join(out, "; ")
}

// keyAtLine returns the dotted path of the mapping key or value on a line.
func keyAtLine(n *yaml.Node, line int, prefix string) string {
	if n == nil {
		return ""
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			if k := keyAtLine(c, line, prefix); k != "" {
				return k
			}
		}
		return ""
	}
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		if k.Line == line || (v.Kind == yaml.ScalarNode && v.Line == line) {
			return path
		}
		if sub := keyAtLine(v, line, path); sub != "" {
			return sub
		}
	}
	return ""
}

// Validate checks values that YAML types cannot, naming the key at fault.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, a...)...))
	}
	if _, _, err := store.ParseDSN(c.Database.DSN); err != nil {
		bad("database.dsn", "%v", err)
	}
	if _, err := c.storeOptions(); err != nil {
		bad("database", "%v", err)
	}
	switch c.Database.Migrate {
	case "auto", "off":
	default:
		bad("database.migrate", "must be auto or off, not %q", c.Database.Migrate)
	}
	switch c.Switch.Driver {
	case "sim":
	case "tactium":
		if c.Switch.Tactium.Address == "" {
			bad("switch.tactium.address", "required with driver tactium (host:port of the Integration socket)")
		}
		if _, err := relay.ParseCharset(c.Switch.Tactium.Charset); err != nil {
			bad("switch.tactium.charset", "%v", err)
		}
	case "epbx":
		validateEPBX(c.Switch.EPBX, bad)
	case "httpdial":
		c.Switch.HTTPDial.validate(bad)
	default:
		bad("switch.driver", "unknown driver %q (use sim, tactium, epbx or httpdial)", c.Switch.Driver)
	}
	if c.Switch.Sim.InboundPerMinute < 0 {
		bad("switch.sim.inbound_per_minute", "must not be negative")
	}
	if c.Switch.Sim.DialerPerMinute < 0 {
		bad("switch.sim.dialer_per_minute", "must not be negative")
	}
	e := c.Engine
	for _, n := range []struct {
		key string
		v   int
	}{{"engine.max_in_flight", e.MaxInFlight}, {"engine.intake_batch", e.IntakeBatch}, {"engine.write_batch", e.WriteBatch},
		{"engine.max_attempts", e.MaxAttempts}, {"engine.max_frame_bytes", e.MaxFrameBytes}} {
		if n.v < 0 {
			bad(n.key, "must not be negative")
		}
	}
	if e.MaxInbox < -1 {
		bad("engine.max_inbox", "-1 (no bound), 0 (the default) or a number of commands")
	}
	if e.MaxFrameBytes > 1<<20 {
		bad("engine.max_frame_bytes", "at most 1048576")
	}
	if e.ShutdownTimeout < 0 {
		bad("engine.shutdown_timeout", "must not be negative")
	}
	if e.ShutdownGrace < 0 {
		bad("engine.shutdown_grace", "must not be negative")
	}
	if e.Lease != 0 && time.Duration(e.Lease) < time.Second {
		bad("engine.lease", "at least 1s")
	}
	switch relay.InDoubtPolicy(e.InDoubt) {
	case "", relay.InDoubtDead, relay.InDoubtRetry:
	default:
		bad("engine.in_doubt", "must be dead or retry, not %q", e.InDoubt)
	}
	c.Bridges.Socket.validate(bad)
	c.Bridges.CRM.validate(bad)
	c.Bridges.UI.validate(bad)
	c.Bridges.File.validate(bad)
	c.Bridges.HTTP.validate(bad)
	c.validateJobs(bad)
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		bad("log.format", "must be text or json, not %q", c.Log.Format)
	}
	return errors.Join(errs...)
}

// storeOptions turns the database section into validated store options.
func (c Config) storeOptions() (store.Options, error) {
	return store.Options{
		Schema: c.Database.Schema, InboundTable: c.Database.InboundTable,
		OutboundTable: c.Database.OutboundTable, Prefix: c.Database.Prefix,
		ExplicitIDs: c.Database.ExplicitIDs,
	}.WithDefaults()
}

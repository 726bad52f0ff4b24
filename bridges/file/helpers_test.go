package spool

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/internal/pgtest"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store/memstore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// rig is a bridge on a memstore with a real engine and a fake switch, and
// the spool's two directories.
type rig struct {
	t      *testing.T
	store  *memstore.Store
	driver *relaytest.Driver
	engine *relay.Engine
	feed   *relay.Feed
	b      *Bridge
	tx, rx string
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	return newRigDriver(t, cfg, &relaytest.Driver{})
}

// newRigDriver is newRig with a fake switch set up by the test.
func newRigDriver(t *testing.T, cfg Config, d *relaytest.Driver) *rig {
	t.Helper()
	r := &rig{t: t, store: memstore.New(), driver: d}
	if cfg.TxDir == "" {
		r.tx, r.rx = t.TempDir(), t.TempDir()
		cfg.TxDir, cfg.RxDir = r.tx, r.rx
	} else {
		r.tx, r.rx = cfg.TxDir, cfg.RxDir
	}
	if cfg.Store != nil {
		r.store = cfg.Store.(*memstore.Store)
	}
	r.start(cfg)
	return r
}

// start runs an engine, a feed and a bridge on the rig's store.
func (r *rig) start(cfg Config) {
	t := r.t
	t.Helper()
	var err error
	r.feed, err = relay.NewFeed(relay.FeedConfig{Store: r.store, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.engine, err = relay.NewEngine(relay.EngineConfig{Node: "n1", Store: r.store, Driver: r.driver, PollInterval: time.Millisecond, Committed: r.feed.Wake})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.feed.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.engine.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.Feed, cfg.Store = r.feed, r.store
	if cfg.ScanInterval == 0 {
		cfg.ScanInterval = time.Millisecond
	}
	if cfg.RenameWait == 0 {
		cfg.RenameWait = time.Millisecond
	}
	if cfg.Logger == nil && testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r.b, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	// on_start runs once the bridge serves: files dropped before would be
	// leftovers.
	wait.For(t, "the bridge serving", func() bool { return r.b.Stats().Serving })
}

// stop stops as ctirelay run does.
func (r *rig) stop() {
	r.b.Quiesce()
	r.engine.Stop()
	r.feed.Stop()
	r.b.Stop()
}

// drop writes a request as Protheus does: a temporary name, then the rename.
func (r *rig) drop(user, text string) {
	r.t.Helper()
	tmp := filepath.Join(r.tx, user+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(r.tx, user+Ext)); err != nil {
		r.t.Fatal(err)
	}
}

// read waits for <user>.CTI in Rx and takes it, as SIGACTI does.
func (r *rig) read(user string) string {
	r.t.Helper()
	path := filepath.Join(r.rx, user+Ext)
	var text []byte
	wait.For(r.t, "the answer "+path, func() bool {
		var err error
		text, err = os.ReadFile(path)
		return err == nil
	})
	if err := os.Remove(path); err != nil {
		r.t.Fatal(err)
	}
	return string(text)
}

// readUntil reads answer files until they hold n frames, and returns them.
func (r *rig) readUntil(user string, n int) []string {
	r.t.Helper()
	var frames []string
	for len(frames) < n {
		frames = append(frames, splitFrames(r.read(user))...)
	}
	return frames
}

func splitFrames(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\r\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (r *rig) dead() []relay.DeadLetter {
	r.t.Helper()
	d, err := r.store.DeadLetters(context.Background(), 0, 100)
	if err != nil {
		r.t.Fatal(err)
	}
	return d
}

func (r *rig) txEmpty() {
	r.t.Helper()
	wait.For(r.t, "Tx emptied", func() bool {
		ents, _ := os.ReadDir(r.tx)
		for _, e := range ents {
			if strings.HasSuffix(strings.ToUpper(e.Name()), Ext) {
				return false
			}
		}
		return true
	})
}

func (r *rig) journalKinds() []string {
	es, _ := r.store.Journal(context.Background(), 0, 1000)
	var out []string
	for _, e := range es {
		out = append(out, e.Kind+":"+e.Agent)
	}
	return out
}

package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"runtime/debug"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/sqlite"
)

// Not parallel: the memory limit is the process's.
func TestLimitMemory(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name   string
		config string
		env    map[string]string
		want   int64
	}{
		{"default", "", nil, DefaultMemoryLimit},
		{"from the configuration", "memory_limit: 300MiB\n", nil, 300 << 20},
		{"GOMEMLIMIT wins", "memory_limit: 300MiB\n", map[string]string{"GOMEMLIMIT": "1GiB"}, 123 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg Config
			if err := yaml.Unmarshal([]byte(tt.config), &cfg); err != nil {
				t.Fatal(err)
			}
			// What the runtime would have applied from GOMEMLIMIT at start.
			debug.SetMemoryLimit(123 << 20)
			env := &cli{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return tt.env[k] }}
			if got := limitMemory(env, cfg, log); got != tt.want {
				t.Fatalf("limitMemory = %d, want %d", got, tt.want)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.want {
				t.Fatalf("the runtime's limit is %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512MiB", 512 << 20, true}, {"64KiB", 64 << 10, true}, {"1GiB", 1 << 30, true}, {"100", 100, true},
		{"10 MiB", 10 << 20, true}, {"7B", 7, true}, {"-1", 0, false}, {"lots", 0, false}, {"1TB", 0, false},
	} {
		got, err := parseByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestQuietAndBloated(t *testing.T) {
	t.Parallel()
	const mb = 1 << 20
	busy := heapSample{cycles: 10, live: 20 * mb, held: 400 * mb, free: 300 * mb}
	for _, c := range []struct {
		name      string
		prev, cur heapSample
		want      bool
	}{
		{"a spike's heap, no collection since", busy, heapSample{cycles: 10, live: 20 * mb, held: 400 * mb, free: 300 * mb}, true},
		{"collections running: under load", busy, heapSample{cycles: 11, live: 20 * mb, held: 400 * mb, free: 300 * mb}, false},
		{"quiet and small", busy, heapSample{cycles: 10, live: 10 * mb, held: 20 * mb, free: 4 * mb}, false},
		{"quiet, just over", busy, heapSample{cycles: 10, live: 10 * mb, held: 20 * mb, free: 9 * mb}, true},
	} {
		if got := quietAndBloated(c.prev, c.cur); got != c.want {
			t.Errorf("%s: quietAndBloated = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestIdleReturnDue(t *testing.T) {
	t.Parallel()
	const mb = 1 << 20
	small := heapSample{cycles: 40, live: 1 * mb, held: 2 * mb, free: 1 * mb}
	at := func(cycles uint64) heapSample { s := small; s.cycles = cycles; return s }
	bloated := heapSample{cycles: 40, live: 1 * mb, held: 30 * mb, free: 10 * mb}
	for _, c := range []struct {
		name      string
		prev, cur heapSample
		returned  uint64
		want      bool
	}{
		{"quiet after a spike that left a small heap (SQLite's memory is elsewhere)", at(40), at(40), 10, true},
		{"quiet after a spike that left a bloated heap", bloated, bloated, 39, true},
		{"still busy", at(39), at(40), 10, false},
		{"idle since the last return: the forced collections", at(43), at(43), 36, false},
		{"just busy enough", at(44), at(44), 36, true},
	} {
		if got := idleReturnDue(c.prev, c.cur, c.returned); got != c.want {
			t.Errorf("%s: idleReturnDue = %v, want %v", c.name, got, c.want)
		}
	}
}

// The goroutine stops when asked (main_test's goleak would see it).
func TestReturnIdleMemoryStops(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), store.Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stop := returnIdleMemory(db)
	stop()
}

// database.notify_trigger on a dialect without one is a clear error; off is
// nothing to do.
func TestNotifyTriggerOnlyWherePostgreSQL(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), store.Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cfg Config
	if err := configureDatabase(context.Background(), cfg, db); err != nil {
		t.Fatalf("notify_trigger off: %v", err)
	}
	cfg.Database.NotifyTrigger = true
	if err := configureDatabase(context.Background(), cfg, db); !errors.Is(err, store.ErrNoNotifyTrigger) {
		t.Fatalf("notify_trigger on SQLite: %v, want ErrNoNotifyTrigger", err)
	}
}

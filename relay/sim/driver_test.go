package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// sink records events; block makes it wait for its context instead.
type sink struct {
	mu      sync.Mutex
	frames  []string
	block   bool
	blocked chan struct{}
	ended   chan error
}

func newSink(block bool) *sink {
	return &sink{block: block, blocked: make(chan struct{}, 1), ended: make(chan error, 1)}
}

func (s *sink) Event(ctx context.Context, f relay.Frame) {
	if s.block {
		s.blocked <- struct{}{}
		<-ctx.Done()
		s.ended <- ctx.Err()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, f.String())
}

// wait polls until n events have arrived.
func (s *sink) wait(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	wait.For(t, fmt.Sprintf("%d events at the sink", n), func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		got = slices.Clone(s.frames)
		return len(got) >= n
	})
	return got
}

func newDriver(t *testing.T, cfg Config) *Driver {
	t.Helper()
	cfg.Clock = relaytest.NewClock(t0)
	sw, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDriver(sw)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestDriver(t *testing.T) {
	t.Parallel()
	d := newDriver(t, Config{})
	s := newSink(false)
	// The relay's context ending is not the driver's end: Close is.
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Open(ctx, s); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := d.Open(context.Background(), s); err == nil {
		t.Error("second Open succeeded")
	}
	exec := func(raw string) string {
		t.Helper()
		frames, err := d.Execute(context.Background(), command(t, raw))
		if err != nil {
			return "ERR " + relay.AsProtocolError(err).Code
		}
		return joinFrames(frames)
	}
	if got := exec("<jose><L><ON>$"); got != "<jose><OK>$" {
		t.Fatalf("L ON: %s", got)
	}
	if got := exec("<jose><A><85><40050500><>$"); got != "<jose><OK>$" {
		t.Fatalf("A: %s", got)
	}
	want := []string{"<jose><A><><><7001><85><40050500><><><>$", `<jose><G><c:\records\2015\1\16\7001-20150116-163837-P1C01-Station.wav>$`}
	if got := s.wait(t, 2); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if got := exec("<jose><P><ON><1>$"); got != "ERR "+relay.CodeInvalidState {
		t.Fatalf("P ON while busy: %s", got)
	}
	if got := exec("<jose><D>$"); got != "<jose><EndCall>$" {
		t.Fatalf("D: %s", got)
	}

	for _, v := range relay.Verbs {
		if !d.Supports(v) {
			t.Errorf("does not support %s", v)
		}
	}
	for _, v := range relay.ExtensionVerbs {
		if !d.Supports(v) {
			t.Errorf("does not support %s", v)
		}
	}
	if d.Supports("HOLD") {
		t.Error("supports HOLD")
	}

	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := d.Execute(context.Background(), command(t, "<jose><S>$"))
	if !relay.IsTransient(err) || !errors.Is(err, ErrStopped) {
		t.Fatalf("Execute after Close: %v", err)
	}
	if err := d.Open(context.Background(), s); !errors.Is(err, ErrStopped) {
		t.Fatalf("Open after Close: %v", err)
	}
}

// Close returns even while the sink is blocked on an event: the sink's
// context ends.
func TestDriverCloseUnblocksSink(t *testing.T) {
	t.Parallel()
	d := newDriver(t, Config{})
	s := newSink(true)
	if err := d.Open(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Execute(context.Background(), command(t, "<jose><L><ON>$")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Execute(context.Background(), command(t, "<jose><A><><40050500><>$")); err != nil {
		t.Fatal(err)
	}
	<-s.blocked
	var wg sync.WaitGroup
	wg.Add(2)
	for range 2 { // concurrent Close calls both return once closed
		go func() { defer wg.Done(); _ = d.Close() }()
	}
	wg.Wait()
	if err := <-s.ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("sink context: %v", err)
	}
}

func TestDriverCloseBeforeOpen(t *testing.T) {
	t.Parallel()
	d := newDriver(t, Config{})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Open(context.Background(), newSink(false)); !errors.Is(err, ErrStopped) {
		t.Fatalf("Open after Close: %v", err)
	}
}

package relay_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// Ways a database can wedge the writer.
const (
	healthy  int32 = iota
	failing        // every write fails at once (connection refused)
	hanging        // every write waits until its context ends
	deafHang       // every write waits and ignores its context (a server that stopped answering)
)

// wedgedStore is a memstore whose writes fail or hang once wedged.
type wedgedStore struct {
	*memstore.Store
	mode    atomic.Int32
	writes  atomic.Int64 // writes refused so far
	settles atomic.Int64 // of which settles
	unblock chan struct{}
}

var errDown = errors.New("database unavailable")

func (s *wedgedStore) wedge(ctx context.Context) error {
	switch s.mode.Load() {
	case failing:
		s.writes.Add(1)
		return errDown
	case hanging:
		s.writes.Add(1)
		<-ctx.Done()
		return ctx.Err()
	case deafHang:
		s.writes.Add(1)
		<-s.unblock
		return errDown
	}
	return nil
}

func (s *wedgedStore) Intake(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest) (int, []relay.Job, error) {
	if err := s.wedge(ctx); err != nil {
		return 0, nil, err
	}
	return s.Store.Intake(ctx, req, claim)
}

func (s *wedgedStore) Claim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	if err := s.wedge(ctx); err != nil {
		return nil, err
	}
	return s.Store.Claim(ctx, req)
}

func (s *wedgedStore) Reclaim(ctx context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	if err := s.wedge(ctx); err != nil {
		return nil, err
	}
	return s.Store.Reclaim(ctx, req)
}

func (s *wedgedStore) ReclaimDead(ctx context.Context, req relay.ReclaimDeadRequest) ([]relay.Job, error) {
	if err := s.wedge(ctx); err != nil {
		return nil, err
	}
	return s.Store.ReclaimDead(ctx, req)
}

// InFlight is read by the event fence in the writer.
func (s *wedgedStore) InFlight(ctx context.Context, agents []string, owner string) ([]relay.Lease, error) {
	if err := s.wedge(ctx); err != nil {
		return nil, err
	}
	return s.Store.InFlight(ctx, agents, owner)
}

func (s *wedgedStore) Extend(ctx context.Context, owner string, until time.Time) error {
	if err := s.wedge(ctx); err != nil {
		return err
	}
	return s.Store.Extend(ctx, owner, until)
}

func (s *wedgedStore) Settle(ctx context.Context, outcomes []relay.Outcome, now time.Time, claim relay.ClaimRequest) (int, []relay.Job, error) {
	if s.mode.Load() != healthy {
		s.settles.Add(1)
	}
	if err := s.wedge(ctx); err != nil {
		return 0, nil, err
	}
	return s.Store.Settle(ctx, outcomes, now, claim)
}

func (s *wedgedStore) Publish(ctx context.Context, events []relay.Frame, now time.Time) error {
	if err := s.wedge(ctx); err != nil {
		return err
	}
	return s.Store.Publish(ctx, events, now)
}

func (s *wedgedStore) Release(ctx context.Context, owner string) error {
	if err := s.wedge(ctx); err != nil {
		return err
	}
	return s.Store.Release(ctx, owner)
}

// onLog closes a channel the first time a record with msg is logged.
type onLog struct {
	msg  string
	once *sync.Once
	ch   chan struct{}
}

func (h onLog) Enabled(context.Context, slog.Level) bool { return true }
func (h onLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.ch) })
	}
	return nil
}
func (h onLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h onLog) WithGroup(string) slog.Handler      { return h }

func spillFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "ctirelay-spill-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// With the database refusing or not answering every write while the switch
// has answered a dial and sent its events, Stop returns once the clock
// reaches shutdown_timeout + shutdown_grace + 1s, however long the database
// would take; the events are in the spill file, in order; the dial's answer
// is left to its lease (not released, so it is never sent again as if
// untouched). The next start publishes the spill first, in order, and a
// spill file found again (a crash between publishing and removing it) is not
// published twice.
func TestEngineStopIsBoundedAndSpillsWhenTheDatabaseIsWedged(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	for _, tc := range []struct {
		name string
		mode int32
	}{{"writes fail", failing}, {"writes hang", hanging}, {"writes hang ignoring cancellation", deafHang}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ws := &wedgedStore{Store: memstore.New(), unblock: make(chan struct{})}
			t.Cleanup(func() { close(ws.unblock) })
			stopping := onLog{msg: "relay engine stopping", once: &sync.Once{}, ch: make(chan struct{})}
			r := newRig(t, func(c *relay.EngineConfig) {
				c.Store, c.SpillDir, c.Logger = ws, dir, slog.New(stopping)
				c.ShutdownTimeout, c.ShutdownGrace = 10*time.Second, 5*time.Second
			})
			r.store = ws.Store
			gate, started := make(chan struct{}), make(chan relay.Command, 1)
			r.driver.Gate, r.driver.Started = gate, started
			a := relay.NewFrame("jose", "A", "85", "5551237", "", "call-1")
			g := relay.NewFrame("jose", "G", "https://rec/call-1.wav")
			r.driver.Handle = func(ctx context.Context, cmd relay.Command) ([]relay.Frame, error) {
				// The switch's events come before its reply: held for it.
				r.driver.Emit(ctx, a)
				r.driver.Emit(ctx, g)
				return nil, nil
			}
			r.store.InsertTTI(1, "<jose><A><85><5551237><>$")
			r.start()
			<-started
			ws.mode.Store(tc.mode)
			close(gate)
			// The dial's answer (and the events held for it) are in the
			// writer's hands before maria's event comes.
			r.until("the writer in trouble", 0, func() bool { return ws.settles.Load() > 0 })
			r.driver.Emit(context.Background(), relay.EndCall("maria"))

			stopped := make(chan struct{})
			go func() { r.engine.Stop(); close(stopped) }()
			<-stopping.ch
			// The clock moves to the bound, and no further.
			bound := 10*time.Second + 5*time.Second + time.Second
			for step := 100 * time.Millisecond; bound > 0; bound -= step {
				r.clock.Advance(step)
				time.Sleep(time.Millisecond) // yield; not waiting for time to pass
			}
			select {
			case <-stopped:
			case <-time.After(30 * time.Second): // a safety net, not a timing assertion
				t.Fatal("Stop did not return with the clock at shutdown_timeout + shutdown_grace + 1s")
			}

			files := spillFiles(t, dir)
			if len(files) != 1 {
				t.Fatalf("spill files %q, want one", files)
			}
			var spill struct {
				ID     string   `json:"id"`
				Events []string `json:"events"`
			}
			data, err := os.ReadFile(files[0])
			if err == nil {
				err = json.Unmarshal(data, &spill)
			}
			if err != nil {
				t.Fatal(err)
			}
			want := []string{a.String(), g.String(), "<maria><EndCall>$"}
			if !slices.Equal(spill.Events, want) {
				t.Fatalf("spilled %q, want %q", spill.Events, want)
			}
			if st := r.engine.Stats(); st.Spilled != 3 || st.Unsettled != 1 || st.Lost != 0 || st.Events != 0 {
				t.Fatalf("stats %+v", st)
			}

			// The database is back: the dial is still leased by the stopped
			// relay (reclaimed when the lease expires, so in doubt), and
			// nothing reached T_TTO.
			ws.mode.Store(healthy)
			if got := r.tto(); len(got) != 0 {
				t.Fatalf("T_TTO = %q before the restart", got)
			}
			ctx := context.Background()
			if jobs, err := r.store.Claim(ctx, relay.ClaimRequest{Owner: "probe", Limit: 10, Now: epoch, LeaseUntil: epoch.Add(time.Hour)}); err != nil || len(jobs) != 0 {
				t.Fatalf("the dial was released at shutdown: claim = %+v, %v", jobs, err)
			}

			// The next start publishes the spill before anything else.
			copyOf, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			restart := func() {
				t.Helper()
				// Another node: what node-a's run held is not this one's
				// to release (issue 10 part 0).
				e, err := relay.NewEngine(relay.EngineConfig{Node: "node-b", Store: r.store, Driver: r.driver, Clock: r.clock, SpillDir: dir})
				if err != nil {
					t.Fatal(err)
				}
				if err := e.Start(ctx); err != nil {
					t.Fatal(err)
				}
				e.Stop()
			}
			r.driver.Handle, r.driver.Gate = nil, nil
			restart()
			if got := r.tto(); !slices.Equal(got, want) {
				t.Fatalf("T_TTO after the restart = %q, want %q", got, want)
			}
			if f := spillFiles(t, dir); len(f) != 0 {
				t.Fatalf("spill files left after publishing: %q", f)
			}
			// A start cut off between publishing and removing the file.
			if err := os.WriteFile(files[0], copyOf, 0o600); err != nil {
				t.Fatal(err)
			}
			restart()
			if got := r.tto(); !slices.Equal(got, want) {
				t.Fatalf("T_TTO after a second start on the same spill = %q, want %q once", got, want)
			}
			if f := spillFiles(t, dir); len(f) != 0 {
				t.Fatalf("spill files left after the second start: %q", f)
			}
		})
	}
}

// A start that cannot publish a spill file does not start: nothing may be
// published ahead of the spilled events.
func TestEngineStartFailsWhileASpillCannotBePublished(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	dir := t.TempDir()
	spill := `{"version": 1, "id": "node-a#1", "node": "node-a", "events": ["<jose><EndCall>$"]}`
	path := filepath.Join(dir, "ctirelay-spill-20261121T090000.000000Z-node-a_1.json")
	if err := os.WriteFile(path, []byte(spill), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, func(c *relay.EngineConfig) { c.SpillDir = dir })
	r.store.SetFail(errDown)
	if err := r.engine.Start(context.Background()); !errors.Is(err, errDown) {
		t.Fatalf("Start = %v, want the store's error", err)
	}
	if r.driver.Closed() != 0 || len(r.driver.Calls()) != 0 {
		t.Fatal("the driver was used before the spill was published")
	}
	r.store.SetFail(nil)
	r.start()
	r.engine.Stop()
	if got := r.tto(); !slices.Equal(got, []string{"<jose><EndCall>$"}) {
		t.Fatalf("T_TTO = %q", got)
	}
}

package relay_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest"
)

// The hot paths of one command, for go test -bench and benchstat. Speed is
// measured here, never asserted.

var benchFrames = []string{
	"<jose><P><ON><12345>$",
	"<jose><A><11><999998888><Vendas>$",
	"<ADMSOCKET><A><37212><><9988><><40050500><Discador><c:\\records\\2010\\01\\10\\125_100110_0101.wav><1234567890>$",
}

func BenchmarkParse(b *testing.B) {
	for _, raw := range benchFrames {
		b.Run(fmt.Sprintf("fields=%d", len(mustParse(b, raw))), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := relay.Parse(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFrameString(b *testing.B) {
	for _, raw := range benchFrames {
		f := mustParse(b, raw)
		b.Run(fmt.Sprintf("fields=%d", len(f)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if f.String() != raw {
					b.Fatal("round trip changed the frame")
				}
			}
		})
	}
}

// BenchmarkAdmit is what intake does to every row: size, charset, frame and
// command checks.
func BenchmarkAdmit(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if a := relay.Admit(benchFrames[0], 0); a.Err != nil {
			b.Fatal(a.Err)
		}
	}
}

// BenchmarkEngine runs commands through the whole engine with a store that
// costs nothing and a switch that answers at once: the relay's own cost per
// command (dispatch, execute, ordering, batching), without a database.
func BenchmarkEngine(b *testing.B) {
	for _, agents := range []int{10, 1000} {
		b.Run(fmt.Sprintf("agents=%d", agents), func(b *testing.B) {
			store := &nullStore{agents: agents, left: int64(b.N)}
			e, err := relay.NewEngine(relay.EngineConfig{Node: "bench", Store: store, Driver: &relaytest.Driver{},
				MaxInFlight: agents, PollInterval: time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := e.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			for e.Stats().Done < int64(b.N) {
				time.Sleep(100 * time.Microsecond) // polling for completion, not waiting for time to pass
			}
			b.StopTimer()
			e.Stop()
		})
	}
}

// nullStore hands out b.N commands over its agents, each agent's next one
// leased with the previous one's settle, and keeps nothing.
type nullStore struct {
	agents int
	mu     sync.Mutex
	left   int64
	nextID int64
	frames map[int]string
}

func (s *nullStore) job(agent int) relay.Job {
	s.nextID++
	s.left--
	if s.frames == nil {
		s.frames = map[int]string{}
	}
	f, ok := s.frames[agent]
	if !ok {
		f = fmt.Sprintf("<a%d><P><ON><1>$", agent)
		s.frames[agent] = f
	}
	return relay.Job{ID: s.nextID, Source: relay.SourceERP, Ref: "1", Agent: fmt.Sprintf("a%d", agent), Verb: relay.VerbPause, Frame: f, Attempts: 1, Owner: "bench"}
}

func (s *nullStore) Intake(context.Context, relay.IntakeRequest, relay.ClaimRequest) (int, []relay.Job, error) {
	return 0, nil, nil
}

func (s *nullStore) Claim(_ context.Context, req relay.ClaimRequest) ([]relay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nextID > 0 { // the first claim starts every agent; settles do the rest
		return nil, nil
	}
	var jobs []relay.Job
	for a := 0; a < s.agents && a < req.Limit && s.left > 0; a++ {
		jobs = append(jobs, s.job(a))
	}
	return jobs, nil
}

func (s *nullStore) Settle(_ context.Context, outcomes []relay.Outcome, _ time.Time, req relay.ClaimRequest) (int, []relay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var jobs []relay.Job
	for _, o := range outcomes {
		if len(jobs) < req.Limit && s.left > 0 {
			var a int
			fmt.Sscanf(o.Job.Agent, "a%d", &a)
			jobs = append(jobs, s.job(a))
		}
	}
	return len(outcomes), jobs, nil
}

func (s *nullStore) InFlight(context.Context, []string, string) ([]relay.Lease, error) {
	return nil, nil
}

func (s *nullStore) Reclaim(context.Context, relay.ClaimRequest) ([]relay.Job, error) {
	return nil, nil
}
func (s *nullStore) ReclaimDead(context.Context, relay.ReclaimDeadRequest) ([]relay.Job, error) {
	return nil, nil
}
func (s *nullStore) Extend(context.Context, string, time.Time) error         { return nil }
func (s *nullStore) Publish(context.Context, []relay.Frame, time.Time) error { return nil }
func (s *nullStore) Release(context.Context, string) error                   { return nil }
func (s *nullStore) PublishOnce(context.Context, string, []relay.Frame, time.Time) (bool, error) {
	return true, nil
}
func (s *nullStore) Wakeups() (_, _ <-chan struct{}) { return nil, nil }
func (s *nullStore) WakesAtOnce() bool               { return false }

func mustParse(b *testing.B, raw string) relay.Frame {
	b.Helper()
	f, err := relay.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

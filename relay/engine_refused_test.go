package relay_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store/memstore"
)

// refusingStore is a store that cannot even dead-letter what the database
// refuses: any batch holding a frame with the marker fails whole with
// relay.ErrDataRejected, as a T_TTO too narrow for it (and a journal that
// refuses it too) would make it.
type refusingStore struct {
	*memstore.Store
	marker string
}

func (s *refusingStore) refused(frames []relay.Frame) error {
	for _, f := range frames {
		if strings.Contains(f.String(), s.marker) {
			return fmt.Errorf("publish: %w: value too long for type character varying(60)", relay.ErrDataRejected)
		}
	}
	return nil
}

// replies are what a settle writes of the outcomes: their replies, and the
// reason of each (as a frame, to be looked at like one).
func (s *refusingStore) replies(outcomes []relay.Outcome) []relay.Frame {
	var fs []relay.Frame
	for _, o := range outcomes {
		fs = append(fs, o.Replies...)
		fs = append(fs, relay.Frame{o.Reason})
	}
	return fs
}

func (s *refusingStore) Settle(ctx context.Context, outcomes []relay.Outcome, now time.Time, claim relay.ClaimRequest) (int, []relay.Job, error) {
	if err := s.refused(s.replies(outcomes)); err != nil {
		return 0, nil, err
	}
	return s.Store.Settle(ctx, outcomes, now, claim)
}

func (s *refusingStore) Publish(ctx context.Context, events []relay.Frame, now time.Time) error {
	if err := s.refused(events); err != nil {
		return err
	}
	return s.Store.Publish(ctx, events, now)
}

// One reply and one event the database refuses are dropped, loudly; the
// writer does not retry them forever, so the other agents' answers and the
// refused reply's agent's next command all go through.
func TestEngineMovesOnPastAMessageTheDatabaseRefuses(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			goleak.VerifyNone(t)
		}
	})
	r := newRig(t, nil)
	fake := &refusingStore{Store: r.store, marker: "TOO-LONG"}
	e, err := relay.NewEngine(relay.EngineConfig{Node: "node-a", Store: fake, Driver: r.driver, Clock: r.clock, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	r.engine = e
	r.driver.Handle = func(_ context.Context, cmd relay.Command) ([]relay.Frame, error) {
		if cmd.Login == "jose" && cmd.Verb == relay.VerbStatus {
			return []relay.Frame{relay.NewFrame("jose", "S", "1", "TOO-LONG")}, nil
		}
		if cmd.Login == "bob" && cmd.Verb == relay.VerbStatus {
			// dead-lettered at once, with the error in its reason and ERR
			return nil, relay.Transient(errors.New("switch said TOO-LONG"))
		}
		return []relay.Frame{relay.OK(cmd.Login)}, nil
	}
	r.store.InsertTTI(1, "<jose><S>$")
	r.store.InsertTTI(2, "<maria><L><ON>$")
	r.store.InsertTTI(3, "<jose><L><ON>$")
	r.store.InsertTTI(4, "<ana><L><ON>$")
	r.store.InsertTTI(5, "<bob><S>$")
	r.store.InsertTTI(6, "<bob><L><ON>$")
	if err := r.engine.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A writer retrying forever never lets Stop return: fail, not hang.
	t.Cleanup(func() {
		if !t.Failed() {
			r.engine.Stop()
		}
	})
	r.until("every command settled", 0, func() bool { return r.store.InboxLen() == 0 && len(r.store.TTO()) == 4 })
	for _, f := range []relay.Frame{relay.EndCall("maria"), relay.NewFrame("jose", "G", "https://rec/TOO-LONG.wav"), relay.EndCall("ana")} {
		r.driver.Emit(context.Background(), f)
	}
	r.until("the events", 0, func() bool { return len(r.store.TTO()) == 6 })
	got := r.tto()
	for _, w := range []string{"<maria><OK>$", "<jose><OK>$", "<ana><OK>$", "<bob><OK>$", "<maria><EndCall>$", "<ana><EndCall>$"} {
		if !slices.Contains(got, w) {
			t.Fatalf("T_TTO = %q, missing %q", got, w)
		}
	}
	r.until("the refusals counted", 0, func() bool { return r.engine.Stats().Lost == 3 })
	r.engine.Stop()
	// bob's S ended bare: counted done, as the settle that took it says
	if st := r.engine.Stats(); st.InFlight != 0 || st.Done != 6 || st.Events != 2 {
		t.Fatalf("stats %+v", st)
	}
}

package socket

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ctirelay/ctirelay/bridges/tactiumserver"
	"github.com/ctirelay/ctirelay/internal/tactiumtest"
	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
	"github.com/ctirelay/ctirelay/store"
	"github.com/ctirelay/ctirelay/store/memstore"
	"github.com/ctirelay/ctirelay/store/sqlite"
)

// logon binds a fresh connection to jose with L ON, answered by the switch.
func (r *rig) logon(login string) *tactiumtest.Client {
	r.t.Helper()
	c := r.dial()
	c.Send("<" + login + "><L><ON>$")
	r.answer("<"+login+"><L><ON>$", relay.OK(login))
	c.Expect("<" + login + "><OK>$")
	return c
}

func TestReplayAfterReconnectSendsExactlyWhatWasMissed(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	c := r.logon("jose")
	r.publish(relay.EndCall("jose"))
	c.Expect("<jose><EndCall>$")
	r.hangUp(c, 0)

	missed := []relay.Frame{
		relay.ReceptiveCall{Login: "jose", OriginDDD: "85", Origin: "40050500", Dest: "7001"}.Frame(),
		relay.Recording("jose", `c:\records\1.wav`),
		relay.EndCall("Jose"),
	}
	r.publish(missed[0], relay.EndCall("ana"), missed[1], missed[2])
	r.caughtUp()

	c = r.logon("jose")
	c.Send("<jose><REPLAY>$")
	c.Expect(missed[0].String() + missed[1].String() + missed[2].String() + "<jose><REPLAY><3>$")
	r.publish(relay.EndCall("jose")) // then live, once
	c.Expect("<jose><EndCall>$")
	c.RoundTrip("<jose><REPLAY>$", "<jose><REPLAY><0>$")
	// The position is saved as the journal id of the last event delivered.
	head, _ := r.store.JournalHead(context.Background())
	wait.For(t, "the saved position", func() bool { return r.cursor("socket:jose") == head })
}

func TestReplayBindsAndThenEventsAreLive(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	r.publish(relay.EndCall("jose")) // missed: nobody was bound to jose yet
	r.caughtUp()
	c := r.dial()
	c.RoundTrip("<JOSE><REPLAY>$", "<jose><EndCall>$<JOSE><REPLAY><1>$")
	r.publish(relay.EndCall("jose"), relay.EndCall("ana"), relay.Recording("jose", "x"))
	c.Expect("<jose><EndCall>$<jose><G><x>$")
	if got := r.b.srv.Sessions()[0].Logins(); !slices.Equal(got, []string{"jose"}) {
		t.Fatalf("bound to %q", got)
	}
}

func TestReplayNeverMissesOrRepeatsLiveEvents(t *testing.T) {
	t.Parallel()
	// A small queue: the replay is written at the client's pace while live
	// events keep coming and must wait their turn.
	r := newRig(t, nil, Config{Limits: tactiumserver.Limits{OutboundQueue: 8}, Batch: 50})
	c := r.logon("jose")
	r.hangUp(c, 0)
	var all []string
	const missed, live = 2000, 300
	for i := range missed {
		f := relay.Recording("jose", "missed-"+strconv.Itoa(i))
		all = append(all, f.String())
		r.publish(f, relay.EndCall("ana"))
	}
	r.caughtUp()
	c = r.dial()
	c.Send("<jose><REPLAY>$")
	for i := range live {
		f := relay.Recording("jose", "live-"+strconv.Itoa(i))
		all = append(all, f.String())
		r.publish(f)
	}
	got := c.Frames(len(all) + 1)
	marker := slices.IndexFunc(got, func(s string) bool { return strings.HasPrefix(s, "<jose><REPLAY><") })
	if marker < 0 {
		t.Fatal("no REPLAY count")
	}
	// Live events published before the cut are part of the replay; the
	// count says where the cut was.
	if want := fmt.Sprintf("<jose><REPLAY><%d>$", marker); got[marker] != want || marker < missed {
		t.Fatalf("count frame %q at %d, want %q with at least %d", got[marker], marker, want, missed)
	}
	got = slices.Delete(got, marker, marker+1)
	if !slices.Equal(got, all) {
		for i := range got {
			if got[i] != all[i] {
				t.Fatalf("frame %d is %q, want %q", i, got[i], all[i])
			}
		}
	}
	if st := r.b.Stats(); st.SlowReaders != 0 {
		t.Fatalf("stats = %+v: a client keeping up was dropped", st)
	}
}

// A replay reads the journal through the feed's bounded Read: a page may
// hold none of the login's events yet the replay goes on from where the
// page ended, to the last of them.
func TestReplayAcrossPagesOfOtherAgentsEvents(t *testing.T) {
	t.Parallel()
	// A read examines at most a few batches: 2 entries each here, far
	// fewer than the other agent's events between two of jose's.
	r := newRig(t, nil, Config{Batch: 2})
	const between = 100
	var want strings.Builder
	for i := range 3 {
		f := relay.Recording("jose", "r"+strconv.Itoa(i))
		want.WriteString(f.String())
		r.publish(f)
		for range between {
			r.publish(relay.EndCall("ana"))
		}
	}
	r.caughtUp()
	c := r.dial()
	c.RoundTrip("<jose><REPLAY>$", want.String()+"<jose><REPLAY><3>$")
	head, _ := r.store.JournalHead(context.Background())
	c.RoundTrip("<jose><REPLAY>$", "<jose><REPLAY><0>$") // nothing is left behind
	c.RoundTrip("<ana><REPLAY>$", strings.Repeat("<ana><EndCall>$", 3*between)+"<ana><REPLAY><300>$")
	wait.For(t, "the saved position", func() bool { return r.cursor("socket:ana") == head })
}

func TestMonitorReplay(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{AdminSecret: "s3cret"})
	c := r.dial()
	c.RoundTrip("<ADMSOCKET><REPLAY>$", "<ADMSOCKET><ERR><UNAUTHORIZED><log on first: <ADMSOCKET)<L)<ON)$>$")
	c.RoundTrip("<ADMSOCKET><L><ON><s3cret>$", "<ADMSOCKET><OK>$")
	r.publish(relay.EndCall("jose"))
	c.Expect("<jose><EndCall>$")
	r.hangUp(c, 0)
	r.publish(relay.EndCall("ana"), relay.Recording("maria", "m"))
	r.caughtUp()
	c = r.dial()
	c.RoundTrip("<ADMSOCKET><L><ON><s3cret>$", "<ADMSOCKET><OK>$")
	c.RoundTrip("<ADMSOCKET><REPLAY>$", "<ana><EndCall>$<maria><G><m>$<ADMSOCKET><REPLAY><2>$")
	head, _ := r.store.JournalHead(context.Background())
	wait.For(t, "the saved position", func() bool { return r.cursor("socket:ADMSOCKET") == head })
}

func TestReplayFromAJournalID(t *testing.T) {
	t.Parallel()
	r := newRig(t, nil, Config{})
	c := r.logon("jose")
	r.publish(relay.EndCall("jose"), relay.Recording("jose", "a"), relay.EndCall("ana"), relay.Recording("jose", "b"))
	c.Expect("<jose><EndCall>$<jose><G><a>$<jose><G><b>$")
	r.hangUp(c, 0)
	r.publish(relay.Recording("jose", "c"))
	r.caughtUp()
	entries, err := r.store.JournalSince(context.Background(), 0, []string{relay.KindEvent}, 100)
	if err != nil || len(entries) != 5 {
		t.Fatalf("journal %+v, %v", entries, err)
	}
	c = r.dial()
	c.RoundTrip(fmt.Sprintf("<jose><REPLAY><%d>$", entries[0].ID), "<jose><G><a>$<jose><G><b>$<jose><G><c>$<jose><REPLAY><3>$")
	c.RoundTrip("<jose><REPLAY>$", "<jose><REPLAY><0>$") // what was missed went with the first
	c.RoundTrip("<jose><REPLAY><0>$", "<jose><EndCall>$<jose><G><a>$<jose><G><b>$<jose><G><c>$<jose><REPLAY><4>$")
}

func TestReplayErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, send, want string }{
		{"not a journal id", "<jose><REPLAY><yesterday>$", `<jose><ERR><BAD_ARGS><REPLAY: "yesterday" is not a journal id>$`},
		{"negative", "<jose><REPLAY><-1>$", `<jose><ERR><BAD_ARGS><REPLAY: "-1" is not a journal id>$`},
		{"two arguments", "<jose><REPLAY><1><2>$", "<jose><ERR><BAD_ARGS><REPLAY: expected nothing or <journal id)>$"},
		{"blank login", "< ><replay>$", "<><ERR><MALFORMED><the first field (agent login) is empty>$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, nil, Config{Limits: tactiumserver.Limits{MaxLogins: 1}})
			c := r.dial()
			c.RoundTrip(tt.send, tt.want)
			c.RoundTrip("<ana><REPLAY>$", "<ana><REPLAY><0>$")
			c.RoundTrip("<jose><REPLAY>$", "<jose><ERR><REJECTED><the connection is bound to too many agents>$")
		})
	}
}

func TestReplayAfterTheRelayRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "relay.db"), store.Options{}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	first := newRig(t, db, Config{})
	c := first.logon("jose")
	first.publish(relay.EndCall("jose"))
	c.Expect("<jose><EndCall>$")
	first.b.Stop()
	c.ExpectClosed()

	// While no bridge runs, the switch goes on (another relay, or this one
	// before its bridge starts).
	first.publish(relay.Recording("jose", "while-down"), relay.EndCall("jose"))
	second := newRig(t, db, Config{})
	c = second.dial()
	c.RoundTrip("<jose><REPLAY>$", "<jose><G><while-down>$<jose><EndCall>$<jose><REPLAY><2>$")
}

// failingReplays is a store whose event-only journal reads (replays; the
// follower reads replies too) fail while fail is set.
type failingReplays struct {
	*memstore.Store
	fail atomic.Bool
}

func (s *failingReplays) JournalSince(ctx context.Context, after int64, kinds []string, limit int) ([]relay.JournalEntry, error) {
	if s.fail.Load() && slices.Equal(kinds, []string{relay.KindEvent}) {
		return nil, errors.New("database unavailable")
	}
	return s.Store.JournalSince(ctx, after, kinds, limit)
}

func TestReplayThatFailsCanBeAskedAgain(t *testing.T) {
	t.Parallel()
	s := &failingReplays{Store: memstore.New()}
	r := newRig(t, s, Config{})
	r.publish(relay.EndCall("jose"), relay.Recording("jose", "r"))
	r.caughtUp()
	c := r.dial()
	s.fail.Store(true)
	c.RoundTrip("<jose><REPLAY>$", "<jose><ERR><REJECTED><replay failed after 0 events; send REPLAY again>$")
	r.publish(relay.EndCall("jose")) // bound all the same: live
	c.Expect("<jose><EndCall>$")
	s.fail.Store(false)
	c.RoundTrip("<jose><REPLAY>$", "<jose><EndCall>$<jose><G><r>$<jose><REPLAY><2>$")
}

package epbx_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/relay/epbx"
	"github.com/ctirelay/ctirelay/relay/epbx/epbxfake"
	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// cursors is relay_cursor as the stores keep it: positions only move
// forward.
type cursors struct {
	mu sync.Mutex
	m  map[string]int64
}

func (c *cursors) CursorsWithPrefix(_ context.Context, prefix string) ([]relay.Cursor, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []relay.Cursor
	for n, p := range c.m {
		if strings.HasPrefix(n, prefix) {
			out = append(out, relay.Cursor{Name: n, Position: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (c *cursors) AdvanceCursors(_ context.Context, cs []relay.Cursor, _ time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	for _, x := range cs {
		c.m[x.Name] = max(c.m[x.Name], x.Position)
	}
	return nil
}

// notebook keeps the notes journaled.
type notebook struct {
	mu    sync.Mutex
	notes []relay.Note
}

func (n *notebook) Note(_ context.Context, notes []relay.Note, _ time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notes = append(n.notes, notes...)
	return nil
}

func (n *notebook) all() []relay.Note {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]relay.Note(nil), n.notes...)
}

// The relay that takes over from a dead active one logs on, with their
// pause, the agents the dead one had logged on (and not those it logged
// off), before any command of theirs arrives.
func TestTakeoverRestoresAgents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, epbxfake.Config{})
	state := &cursors{}
	old := e.driver(t, func(c *epbx.Config) { c.State, c.Gated = state, true })
	open(t, old)
	old.SetActive(true)
	must(t, old, "<jose><L><ON>$", "<jose><OK>$")
	must(t, old, "<jose><P><ON><2>$", "<jose><OK>$")
	must(t, old, "<maria><L><ON>$", "<maria><OK>$")
	must(t, old, "<maria><L><OFF>$", "<maria><OK>$")
	// It dies: the hub forgets its connections, and so its logons.
	e.srv.Forget()
	_ = old.Close()
	if st, _ := e.sw.Agent("jose"); st != relay.StateLoggedOff {
		t.Fatalf("jose at the switch after his connection went: state %d, want logged off", st)
	}

	notes := &notebook{}
	next := e.driver(t, func(c *epbx.Config) { c.State, c.Gated, c.Notes = state, true, notes })
	open(t, next)
	next.SetActive(true)
	wait.For(t, "jose logged on again", func() bool { st := next.Status(); return st.Connections == 1 && st.LoggedOn == 1 })
	wait.For(t, "jose paused again at the switch", func() bool { st, _ := e.sw.Agent("jose"); return st == relay.StatePaused })
	if st, _ := e.sw.Agent("maria"); st != relay.StateLoggedOff {
		t.Fatalf("maria at the switch: state %d, want logged off", st)
	}
	must(t, next, "<jose><S>$", "<jose><S><2>$")
	must(t, next, "<maria><S>$", "<maria><S><0>$")
	if got := notes.all(); len(got) != 1 || got[0].Agent != "jose" || got[0].What != "relogon" || !strings.Contains(got[0].Text, "interval 2") {
		t.Errorf("notes %+v, want one relogon for jose, paused in interval 2", got)
	}
	// Its own changes go on from the old relay's stamps.
	must(t, next, "<jose><P><OFF>$", "<jose><OK>$")
	third := e.driver(t, func(c *epbx.Config) { c.State, c.Gated = state, true })
	e.srv.Forget()
	_ = next.Close()
	open(t, third)
	third.SetActive(true)
	wait.For(t, "jose logged on by the third relay", func() bool { return third.Status().LoggedOn == 1 })
	must(t, third, "<jose><S>$", "<jose><S><1>$")
}

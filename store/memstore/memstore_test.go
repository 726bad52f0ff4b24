package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store/memstore"
	"github.com/ctirelay/ctirelay/store/storetest"
)

// TestStore runs the suite every dialect runs: the fake the engine and
// bridge tests use keeps the SQL stores' admission and settle rules.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		s := memstore.New()
		return storetest.Harness{Dialect: "memstore", Store: s, Tables: tables{s}, InvalidUTF8: true}
	})
}

// tables reads the store's tables as a DBA would read them in SQL.
type tables struct{ s *memstore.Store }

func (x tables) InsertTTI(_ *testing.T, rows ...storetest.Row) {
	for _, r := range rows {
		x.s.InsertTTI(r.ID, r.Text)
	}
}

func rows(in []memstore.Row) []storetest.Row {
	var out []storetest.Row
	for _, r := range in {
		out = append(out, storetest.Row{ID: r.ID, Text: r.Text})
	}
	return out
}

func (x tables) TTI(*testing.T) []storetest.Row { return rows(x.s.TTI()) }

func (x tables) TTO(*testing.T) []storetest.Row { return rows(x.s.TTO()) }

func (x tables) DeleteTTO(_ *testing.T, id int64) { x.s.DeleteTTO(id) }

// us is a time column in µs, NULL (the zero time) as 0.
func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func (x tables) Inbox(*testing.T) []storetest.InboxRow {
	var out []storetest.InboxRow
	for _, r := range x.s.Inbox() {
		out = append(out, storetest.InboxRow{ID: r.ID, Source: r.Source, Ref: r.Ref, Agent: r.Agent, Verb: string(r.Verb),
			Frame: r.Frame, State: r.State, Attempts: int64(r.Attempts), NotBefore: us(r.NotBefore), LeaseOwner: r.Owner,
			LeaseExpires: us(r.Expires), EnqueuedAt: us(r.EnqueuedAt), LastError: r.LastError})
	}
	return out
}

func (x tables) Dead(*testing.T) []storetest.DeadRow {
	var out []storetest.DeadRow
	for _, d := range x.s.Dead() {
		out = append(out, storetest.DeadRow{ID: d.ID, InboxID: d.InboxID, Source: d.Source, Ref: d.Ref, Agent: d.Agent,
			Verb: string(d.Verb), Frame: d.Frame, Code: d.Code, Reason: d.Reason, Attempts: int64(d.Attempts),
			EnqueuedAt: us(d.EnqueuedAt), DiedAt: us(d.DiedAt)})
	}
	return out
}

func (x tables) Cursors(*testing.T) []relay.Cursor { return x.s.CursorRows() }

func (x tables) Nodes(t *testing.T) []relay.Node {
	nodes, err := x.s.Nodes(context.Background())
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	for i, n := range nodes {
		nodes[i] = relay.Node{ID: n.ID, Host: n.Host, PID: n.PID, Version: n.Version}
	}
	return nodes
}

func (x tables) JournalLen(*testing.T) int { return x.s.JournalLen() }

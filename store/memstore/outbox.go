package memstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// outboxMark is a row of relay_tto_mark: every T_TTO row with an id up to
// id was written at or before at.
type outboxMark struct {
	at time.Time
	id int64
}

// MarkOutbox implements relay.OutboxExpiry.
func (s *Store) MarkOutbox(ctx context.Context, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	s.dropMarksAfterRenumbering()
	if len(s.tto) == 0 {
		return nil
	}
	top := s.tto[len(s.tto)-1].ID
	if n := len(s.marks); n > 0 && s.marks[n-1].id >= top {
		return nil
	}
	s.marks = append(s.marks, outboxMark{at: now, id: top})
	return nil
}

// ExpireOutbox implements relay.OutboxExpiry.
func (s *Store) ExpireOutbox(ctx context.Context, req relay.ExpireOutboxRequest) ([]relay.ExpiredOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.dropMarksAfterRenumbering()
	used := -1
	for i, m := range s.marks {
		if !m.at.After(req.Before) {
			used = i
		}
	}
	if used < 0 {
		return nil, nil
	}
	upTo := s.marks[used].id
	s.marks = slices.Delete(s.marks, 0, used)
	var gone []relay.ExpiredOutput
	keep := s.tto[:0]
	for _, r := range s.tto {
		if r.ID <= upTo && len(gone) < req.Limit {
			gone = append(gone, relay.ExpiredOutput{ID: r.ID, Frame: r.Text})
			continue
		}
		keep = append(keep, r)
	}
	s.tto = keep
	for _, o := range gone {
		n := req.Note(o)
		s.journalAdd(relay.JournalEntry{At: req.Now, Direction: relay.DirOut, Kind: relay.KindNote,
			Agent: n.Agent, Frame: n.Text, Origin: n.Origin, Ref: n.What}) // as Note does
	}
	return gone, nil
}

// LeaseHolders implements relay.LeaseHolders.
func (s *Store) LeaseHolders(ctx context.Context) ([]relay.LeaseHolding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	by := map[string]*relay.LeaseHolding{}
	for _, r := range s.inbox {
		if r.state != "running" {
			continue
		}
		h := by[r.Owner]
		if h == nil {
			h = &relay.LeaseHolding{Owner: r.Owner}
			by[r.Owner] = h
		}
		h.Commands++
		if r.expires.After(h.Expires) {
			h.Expires = r.expires
		}
	}
	out := make([]relay.LeaseHolding, 0, len(by))
	for _, h := range by {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b relay.LeaseHolding) int { return strings.Compare(a.Owner, b.Owner) })
	return out, nil
}

// dropMarksAfterRenumbering drops every mark when the largest is above
// T_TTO's largest id, as the SQL stores do: ids only grow, so T_TTO was
// renumbered or emptied and the marks no longer date its ids.
func (s *Store) dropMarksAfterRenumbering() {
	var top int64
	if len(s.tto) > 0 {
		top = s.tto[len(s.tto)-1].ID
	}
	if n := len(s.marks); n > 0 && s.marks[n-1].id > top {
		s.marks = nil
	}
}

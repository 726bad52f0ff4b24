package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/store"
)

// batch is a set of messages decided by relay.Admit, as the parallel arrays
// sql/admit.sql takes.
type batch struct {
	source, ref, agent, verb, frame, code, reason, reply []string
	k                                                    []int64 // above 0: enters the inbox whatever it holds
	first                                                []bool  // the agent's first admitted message here
	seen                                                 map[string]struct{}
	queued                                               int // messages with k above 0
	results                                              []relay.Enqueued
}

func newBatch(n int) *batch {
	mk := func() []string { return make([]string, 0, n) }
	return &batch{source: mk(), ref: mk(), agent: mk(), verb: mk(), frame: mk(), code: mk(), reason: mk(), reply: mk(),
		k: make([]int64, 0, n), first: make([]bool, 0, n), seen: make(map[string]struct{}, n),
		results: make([]relay.Enqueued, 0, n)}
}

// add decides one message. A refused one that can be answered is held in
// the inbox behind an earlier command of its agent in this batch (k above
// 0); without one, sql/admit.sql holds it when the agent has commands in
// the inbox, and answers it at once otherwise.
func (b *batch) add(m relay.Inbound, maxFrame int) {
	source, ref, raw := m.Source, m.Ref, m.Raw
	a := relay.AdmitInbound(m, maxFrame)
	b.source = append(b.source, source)
	b.ref = append(b.ref, ref)
	b.agent = append(b.agent, a.Agent)
	b.frame = append(b.frame, raw)
	_, seen := b.seen[a.Agent]
	if a.Err == nil {
		b.queued++
		b.k = append(b.k, int64(b.queued))
		b.first = append(b.first, !seen)
		b.seen[a.Agent] = struct{}{}
		b.verb = append(b.verb, string(a.Verb))
		b.code = append(b.code, "")
		b.reason = append(b.reason, "")
		b.reply = append(b.reply, "")
		b.results = append(b.results, relay.Enqueued{})
		return
	}
	b.first = append(b.first, false)
	b.code = append(b.code, a.Err.Code)
	b.reason = append(b.reason, a.Err.Code+": "+a.Err.Message)
	r := a.Reply()
	if r == nil {
		b.k = append(b.k, 0)
		b.verb = append(b.verb, "")
		b.reply = append(b.reply, "")
		b.results = append(b.results, relay.Enqueued{Err: a.Err})
		return
	}
	b.verb = append(b.verb, string(relay.RefusedVerb(a.Err)))
	b.reply = append(b.reply, r.String())
	if seen {
		b.queued++
		b.k = append(b.k, int64(b.queued))
		b.results = append(b.results, relay.Enqueued{})
		return
	}
	b.k = append(b.k, 0)
	b.results = append(b.results, relay.Enqueued{Err: a.Err})
}

// record runs sql/admit.sql and fills in the inbox ids of what entered the
// inbox. With a lease owner, it leases the commands that arrive at the head
// of their agent's queue (up to lease.Limit) and returns them.
func (b *batch) record(ctx context.Context, st *sqlx.Stmt, now time.Time, replyToTTO bool, lease relay.ClaimRequest) ([]relay.Job, error) {
	var last int64
	var leased, held pq.Int64Array
	until := lease.LeaseUntil
	if until.IsZero() {
		until = now
	}
	err := st.QueryRowContext(ctx, pq.Array(b.source), pq.Array(b.ref), pq.Array(b.agent), pq.Array(b.verb),
		pq.Array(b.frame), pq.Array(b.code), pq.Array(b.reason), pq.Array(b.reply), micro(now), replyToTTO,
		lease.Owner, micro(until), max(lease.Limit, 0), pq.Array(b.k), pq.Array(b.first)).Scan(&last, &leased, &held)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // nothing entered the inbox
	}
	if err != nil {
		return nil, err
	}
	id := last - int64(b.queued+len(held))
	var jobs []relay.Job
	for i := range b.results {
		if len(held) > 0 && held[0] == int64(i+1) {
			held = held[1:]
			b.results[i] = relay.Enqueued{} // its ERR comes as its reply
		} else if b.k[i] == 0 {
			continue
		}
		id++
		b.results[i].ID = id
		if len(leased) > 0 && leased[0] == id {
			leased = leased[1:]
			jobs = append(jobs, relay.Job{ID: id, Source: b.source[i], Ref: b.ref[i], Agent: b.agent[i],
				Verb: relay.Verb(b.verb[i]), Frame: b.frame[i], Attempts: 1, EnqueuedAt: micro(now), Owner: lease.Owner})
		}
	}
	if len(leased) > 0 || len(held) > 0 {
		return nil, fmt.Errorf("leased inbox ids %v or held messages %v are not among those queued", []int64(leased), []int64(held))
	}
	return jobs, nil
}

// Intake implements relay.Queue: it takes rows from T_TTI in IS_TTI order and
// records each in the inbox (or relay_dead, answering ERR in T_TTO) in the
// same transaction that deletes it, leasing there the commands that arrive at
// the head of their agent's queue.
func (s *Store) Intake(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest) (int, []relay.Job, error) {
	if claim.Owner == "" || claim.Limit <= 0 {
		claim = relay.ClaimRequest{}
	}
	return s.intake(ctx, req, claim)
}

func (s *Store) intake(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest) (int, []relay.Job, error) {
	if req.Limit <= 0 {
		return 0, nil, nil
	}
	n, jobs, full, err := s.intakeTx(ctx, req, claim, false)
	if errors.Is(err, relay.ErrDataRejected) {
		// An ERR reply the ERP's T_TTO refuses: again, writing the replies
		// one at a time, so the rows are taken all the same.
		n, jobs, full, err = s.intakeTx(ctx, req, claim, true)
	}
	if err == nil && full {
		// committed: the bound, not T_TTI, ended this intake
		return n, jobs, relay.ErrInboxFull
	}
	return n, jobs, err
}

// intakeTx is one intake transaction; full says the inbox bound ended it
// with rows left in T_TTI. isolate writes the ERR replies to T_TTO one at a
// time (writeOutput), each refused one to relay_dead instead.
func (s *Store) intakeTx(ctx context.Context, req relay.IntakeRequest, claim relay.ClaimRequest, isolate bool) (n int, jobs []relay.Job, full bool, err error) {
	take, err := s.stmt(ctx, qTakeTTI)
	if err != nil {
		return 0, nil, false, fail("intake", err)
	}
	admit, err := s.stmt(ctx, qAdmit)
	if err != nil {
		return 0, nil, false, fail("intake", err)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, nil, false, fail("intake: begin", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// The take holds the intake lock to commit (sql/take_tti.sql): two
	// relays take T_TTI in turn, or one could admit a later row of an agent
	// before the other commits an earlier one.
	rows, full, err := s.takeTTI(ctx, tx.StmtxContext(ctx, take), req.Limit, req.MaxInbox)
	if err != nil {
		return 0, nil, false, fail("intake: take rows", err)
	}
	if len(rows) > 0 {
		b := newBatch(len(rows))
		for _, r := range rows {
			b.add(relay.Inbound{Source: relay.SourceERP, Ref: r.ref, Raw: r.text}, req.MaxFrame)
		}
		if jobs, err = b.record(ctx, tx.StmtxContext(ctx, admit), req.Now, !isolate, claim); err != nil {
			return 0, nil, false, fail("intake: record", err)
		}
		if isolate {
			if err = s.writeReplies(ctx, tx, b, req.Now); err != nil {
				return 0, nil, false, fail("intake: record", err)
			}
		}
	}
	if err = tx.Commit(); err != nil {
		return 0, nil, false, fail("intake: commit", err)
	}
	return len(rows), jobs, full, nil
}

// writeReplies writes the ERR replies of the rows b rejected to T_TTO one
// at a time; admit.sql journaled them already.
func (s *Store) writeReplies(ctx context.Context, tx *sqlx.Tx, b *batch, now time.Time) error {
	var st outputStmts
	for _, x := range []struct {
		q query
		p **sqlx.Stmt
	}{{qOutput, &st.write}, {qRefused, &st.refused}} {
		prepared, err := s.stmt(ctx, x.q)
		if err != nil {
			return err
		}
		*x.p = tx.StmtxContext(ctx, prepared)
	}
	for i, reply := range b.reply {
		if reply == "" {
			continue
		}
		r := store.JournalRow{At: now, Direction: relay.DirOut, Kind: relay.KindReply, Agent: b.agent[i], Frame: reply,
			Origin: b.source[i], Ref: b.ref[i], Outcome: relay.OutcomeErr}
		if err := s.writeOutput(ctx, tx, st, r, false); err != nil {
			return err
		}
	}
	return nil
}

type ttiRow struct {
	id   int64
	ref  string
	text string
}

// takeTTI deletes and returns up to limit rows of T_TTI, oldest first, and
// fewer when maxInbox bounds the inbox; full says that bound ended the take
// with rows left in T_TTI.
func (s *Store) takeTTI(ctx context.Context, st *sqlx.Stmt, limit, maxInbox int) (out []ttiRow, full bool, err error) {
	rs, err := st.QueryContext(ctx, limit, maxInbox)
	if err != nil {
		return nil, false, err
	}
	defer rs.Close()
	room := int64(limit)
	var more bool
	for rs.Next() {
		var id sql.NullInt64
		var text sql.NullString
		if err := rs.Scan(&room, &more, &id, &text); err != nil {
			return nil, false, err
		}
		if id.Valid {
			out = append(out, ttiRow{id: id.Int64, text: text.String})
		}
	}
	if err := rs.Err(); err != nil {
		return nil, false, err
	}
	// DELETE ... RETURNING promises no order.
	sortBy(out, func(r ttiRow) int64 { return r.id })
	for i := range out {
		out[i].ref = itoa(out[i].id)
	}
	return out, room < int64(limit) && more, nil
}

// Enqueue implements relay.Sources for sources other than T_TTI: rejected
// messages are dead-lettered and journaled, but their ERR is not put in T_TTO
// (the bridge answers its client itself).
func (s *Store) Enqueue(ctx context.Context, msgs []relay.Inbound, now time.Time, maxFrame int) ([]relay.Enqueued, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	admit, err := s.stmt(ctx, qAdmit)
	if err != nil {
		return nil, fail("enqueue", err)
	}
	b := newBatch(len(msgs))
	for _, m := range msgs {
		b.add(m, maxFrame)
	}
	// One statement, so one transaction: it takes the intake lock itself
	// (after its snapshot, which is why it leases nothing).
	if _, err := b.record(ctx, admit, now, false, relay.ClaimRequest{}); err != nil {
		return nil, fail("enqueue", err)
	}
	return b.results, nil
}

package bench

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// benchAgent is the login of agent k of the run.
func benchAgent(k int) string { return fmt.Sprintf("bench%05d", k) }

// benchFrame is command seq: a pause whose code is the command's own number,
// so the switch side can tell which row it is executing. Its IS_TTI is seq
// too: the ERP may supply its own values, and this one does.
func benchFrame(seq int64, agents int) string {
	return "<" + benchAgent(int(seq%int64(agents))) + "><P><ON><" + strconv.FormatInt(seq, 10) + ">$"
}

// insertLog remembers when each batch of rows was inserted, by IS_TTI range,
// in memory the size of the number of batches.
type insertLog struct {
	mu      sync.RWMutex
	batches []insertBatch
}

type insertBatch struct {
	first, last int64
	at          time.Time
}

// begin records a batch about to be inserted with a provisional time (its
// start); commit replaces it with the moment the ERP's INSERT returned. A
// row the relay sees in between gets the earlier time: latency is never
// understated.
func (l *insertLog) begin(first, last int64, at time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches = append(l.batches, insertBatch{first: first, last: last, at: at})
	return len(l.batches) - 1
}

func (l *insertLog) commit(i int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches[i].at = at
}

// lookup returns when row seq was inserted.
func (l *insertLog) lookup(seq int64) (time.Time, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	i := sort.Search(len(l.batches), func(i int) bool { return l.batches[i].last >= seq })
	if i == len(l.batches) || l.batches[i].first > seq {
		return time.Time{}, false
	}
	return l.batches[i].at, true
}

// erpWriter inserts command rows into T_TTI with plain multi-row INSERTs, on
// its own connection, as an ERP would.
type erpWriter struct {
	db     *sql.DB
	tti    string
	agents int
	log    *insertLog
	next   int64 // the next IS_TTI; rows are numbered from 1
}

func newERPWriter(db *sql.DB, tti string, agents int) *erpWriter {
	return &erpWriter{db: db, tti: tti, agents: agents, log: &insertLog{}, next: 1}
}

// insert writes rows next … next+n-1 in one statement.
func (w *erpWriter) insert(ctx context.Context, n int) error {
	if n <= 0 {
		return nil
	}
	var q strings.Builder
	q.Grow(40 + n*40)
	q.WriteString("INSERT INTO ")
	q.WriteString(w.tti)
	q.WriteString(" (IS_TTI, DS_TTI) VALUES ")
	first, last := w.next, w.next+int64(n)-1
	for seq := first; seq <= last; seq++ {
		if seq > first {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		q.WriteString(strconv.FormatInt(seq, 10))
		q.WriteString(",'")
		q.WriteString(benchFrame(seq, w.agents))
		q.WriteString("')")
	}
	i := w.log.begin(first, last, time.Now())
	if _, err := w.db.ExecContext(ctx, q.String()); err != nil {
		return fmt.Errorf("erp insert: %w", err)
	}
	w.log.commit(i, time.Now())
	w.next = last + 1
	return nil
}

// preload inserts n rows in statements of chunk rows.
func (w *erpWriter) preload(ctx context.Context, n int64, chunk int, progress func(done int64)) error {
	for done := int64(0); done < n; {
		k := int(min(int64(chunk), n-done))
		if err := w.insert(ctx, k); err != nil {
			return err
		}
		done += int64(k)
		if progress != nil {
			progress(done)
		}
	}
	return nil
}

// offer inserts rows at rate per second until ctx ends or until is reached
// (rows), catching up in bigger statements (at most maxBatch rows) when an
// insert took longer than the gap between rows. It returns how many it sent.
func (w *erpWriter) offer(ctx context.Context, rate float64, until int64, maxBatch int) (int64, error) {
	start := time.Now()
	var sent int64
	timer := time.NewTimer(0)
	defer timer.Stop()
	for ctx.Err() == nil && (until <= 0 || sent < until) {
		due := int64(rate*time.Since(start).Seconds()) - sent
		if until > 0 {
			due = min(due, until-sent)
		}
		if due <= 0 {
			next := start.Add(time.Duration(float64(sent+1) / rate * float64(time.Second)))
			timer.Reset(time.Until(next))
			select {
			case <-ctx.Done():
				return sent, nil
			case <-timer.C:
			}
			continue
		}
		n := int(min(due, int64(maxBatch)))
		// The end of the run stops the pacing, never an INSERT half way:
		// a cancelled statement may still have committed its rows.
		if err := w.insert(context.WithoutCancel(ctx), n); err != nil {
			return sent, err
		}
		sent += int64(n)
	}
	return sent, nil
}

// saturate keeps at most window commands unanswered (rows sent minus the
// replies done reports) until ctx ends, in statements of batch rows, and
// returns how many it sent: the relay always has work, and the queue stays
// bounded.
func (w *erpWriter) saturate(ctx context.Context, window int64, batch int, done func() int64, wake <-chan struct{}) (int64, error) {
	var sent int64
	for ctx.Err() == nil {
		if room := window - (sent - done()); room >= int64(batch) {
			n := int(min(room, int64(batch)))
			if err := w.insert(context.WithoutCancel(ctx), n); err != nil {
				return sent, err
			}
			sent += int64(n)
			continue
		}
		select {
		case <-ctx.Done():
		case <-wake:
		}
	}
	return sent, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
)

// SQLite cannot notify, but PRAGMA data_version, asked again on the same
// connection, changes whenever another connection (the ERP, the sqlite3
// shell, this relay's own) committed: a few microseconds, no file I/O while
// nothing changed. The watcher asks it on its own read connection and wakes
// the intake when T_TTI has rows. On Linux it asks when inotify says a file
// of the database was written, and for a while after (lookSchedule): the
// commit is visible only once the WAL is synced and its index updated, after
// the last write, and a write leaves no event. Otherwise it asks every
// watchIdle: an idle relay costs nothing measurable. Elsewhere it asks every
// 1–4 ms. The engine's poll stays as the fallback.
const (
	// watchMin is the interval right after a change or a write: rows come
	// in bursts, and a row waits at most this long to be seen then.
	watchMin = time.Millisecond
	// watchMax bounds the interval on a quiet file without file events.
	watchMax = 4 * time.Millisecond
	// watchIdle is the interval on a quiet file with file events: a look
	// in case an event was missed (a file system without inotify).
	watchIdle = 250 * time.Millisecond
	// watchHot is how many watchMin looks follow a file event.
	watchHot = 5
)

// lookSchedule is when the watcher looks, with file events: watchHot looks
// watchMin apart after an event, then at doubling intervals up to
// watchIdle. The tail is for a commit whose sync outlasts the hot looks:
// under load a commit showed up to 250–500 ms after its first write's
// event (measured; 2–3% beyond 8 ms), and with no further write nothing
// would look again before watchIdle.
type lookSchedule struct {
	hot  int
	tail time.Duration
}

func newLookSchedule() lookSchedule { return lookSchedule{tail: watchIdle} }

// poke starts over: a file was written, or the intake just took rows.
func (l *lookSchedule) poke() { l.hot, l.tail = watchHot, 2*watchMin }

// next is the wait before the next look.
func (l *lookSchedule) next() time.Duration {
	if l.hot > 0 {
		l.hot--
		return watchMin
	}
	d := l.tail
	l.tail = min(2*l.tail, watchIdle)
	return d
}

// watcher turns commits of other connections that leave rows in T_TTI into
// intake wake-ups (a channel of capacity one: wake-ups coalesce).
type watcher struct {
	db     *sql.DB
	conn   *sql.Conn
	anyTTI string
	after  func(time.Duration) <-chan time.Time
	files  *fileEvents // nil: no file events here
	intake chan struct{}
	// journal and claim fire on any commit of another connection: the
	// journal feed's read (replies written by another relay process,
	// `ctirelay send` waiting for them) and the claim loop's (commands
	// another process put in the inbox) need no short poll then.
	journal, claim chan struct{}
	// own counts the store's own write transactions: a change of
	// data_version while none ran is another process's commit.
	own *ownWrites
	// took says the intake took rows (intakeDone): it may have read just
	// before another commit became visible, whose writes' events the
	// watcher passed while that intake's wake-up was pending.
	took  chan struct{}
	stats wakeStats
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

// wakeStats counts what the watcher did, for the log line at Close: an
// intake that took rows with no wake-up since the last found rows the
// watcher missed (the poll's work), or was the engine's own (through a
// backlog, a settle that made room in the inbox starts one).
type wakeStats struct {
	looks, wakes atomic.Int64
	mu           sync.Mutex
	seen         int64 // wakes at the last intake
	cont         bool  // the last intake stopped at its limit: the next follows at once
	intakes      int64 // that took rows
	unwoken      int64 // of them, with no wake-up since the last
}

// startWatcher opens the watcher's connection on path. after is the timer
// (time.After outside tests).
func startWatcher(path string, cfg Config, anyTTI string, own *ownWrites, after func(time.Duration) <-chan time.Time, files bool, log *slog.Logger) (*watcher, error) {
	// An existing file, journal mode left alone; query_only: this
	// connection never writes, so it never takes the write lock.
	dsn, err := dataSource(path, cfg, true)
	if err != nil {
		return nil, err
	}
	c, err := sqlite.NewConnector(dsn + "&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("sqlite wake-up: %w", err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	// data_version compares commits seen by one connection: keep it.
	conn, err := db.Conn(ctx)
	if err != nil {
		cancel()
		db.Close()
		return nil, fmt.Errorf("sqlite wake-up: %w", err)
	}
	w := &watcher{db: db, conn: conn, anyTTI: anyTTI, own: own, after: after, intake: make(chan struct{}, 1),
		journal: make(chan struct{}, 1), claim: make(chan struct{}, 1), took: make(chan struct{}, 1), stop: cancel}
	version, err := w.version(ctx)
	if err != nil {
		w.close()
		return nil, err
	}
	if files { // false in tests: the timer alone
		if w.files, err = watchFiles(path); err != nil {
			log.Info("sqlite wake-up: no file events, looking every few milliseconds", "db", path, "err", err)
		}
	}
	w.wg.Go(func() { w.run(ctx, version) })
	return w, nil
}

func (w *watcher) version(ctx context.Context) (int64, error) {
	var v int64
	if err := w.conn.QueryRowContext(ctx, sqlDataVersion).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite wake-up: data_version: %w", err)
	}
	return v, nil
}

func (w *watcher) run(ctx context.Context, version int64) {
	var events <-chan struct{}
	if w.files != nil {
		events = w.files.c
	}
	interval, looks := watchMin, newLookSchedule()
	var writes int64
	for {
		d := interval
		if events != nil {
			d = looks.next()
		}
		select {
		case <-ctx.Done():
			return
		case <-w.after(d):
		case _, ok := <-events:
			if !ok {
				events = nil // inotify failed: look every few milliseconds
			}
			looks.poke()
		case <-w.took:
			looks.poke()
			interval = watchMin
		}
		if len(w.intake) == cap(w.intake) {
			// A wake-up is pending: the intake has not looked since, so
			// another says nothing new (the feed's and the claim loop's
			// wake-ups, for another process's commit, wait for the same
			// look: milliseconds, since the intake is due). While the relay works through a
			// backlog its own commits write the WAL thousands of times a
			// second; each look is a query. The version is left as it
			// was: the first look once the intake took rows (intakeDone)
			// sees what changed meanwhile, and the looks after it cover a
			// commit that became visible just after the intake read.
			continue
		}
		w.stats.looks.Add(1)
		v, err := w.version(ctx)
		// After the version: an own commit it shows is counted by now, or
		// still in flight.
		mine, idle := w.own.load()
		last := writes
		writes = mine
		if err != nil || v == version {
			// An error (the file busy, going away) is the poll's to
			// cover; the watcher only ever makes things sooner.
			interval = min(2*interval, watchMax)
			continue
		}
		version, interval = v, watchMin
		foreign := idle && mine == last
		if foreign {
			// Not one commit of this store's since the last look: another
			// process committed (the feed reads what it wrote). The store's
			// own commits (thousands a second under load) wake neither the
			// feed nor the claim loop: the engine's writer wakes them then.
			wake(w.journal)
		}
		// The relay's own intakes and settles commit too: only rows in
		// T_TTI are the intake's business, so an empty table wakes nothing.
		var one int
		switch err := w.conn.QueryRowContext(ctx, w.anyTTI).Scan(&one); err {
		case nil:
			// The ERP's rows: the intake leases what it takes, no claim.
			if wake(w.intake) {
				w.stats.wakes.Add(1)
			}
		case sql.ErrNoRows:
			if foreign {
				// Another process wrote the inbox (`ctirelay send`).
				wake(w.claim)
			}
		default:
			// Unsure: a spare intake costs less than a missed row.
			if wake(w.intake) {
				w.stats.wakes.Add(1)
			}
			wake(w.claim)
		}
	}
}

// ownWrites counts a store's write transactions, begun and ended.
type ownWrites struct{ begun, ended atomic.Int64 }

// begin counts a transaction in; the func returned counts it out.
func (o *ownWrites) begin() func() {
	o.begun.Add(1)
	return func() { o.ended.Add(1) }
}

// load returns how many ended, and whether none is in flight.
func (o *ownWrites) load() (int64, bool) {
	ended := o.ended.Load()
	return ended, o.begun.Load() == ended
}

// wake says whether ch took the wake-up (false: one was pending).
func wake(ch chan struct{}) bool {
	select {
	case ch <- struct{}{}:
		return true
	default:
		return false
	}
}

// intakeDone is told of each intake (taken rows of limit; full: the inbox
// bound stopped it). After one that took rows the watcher looks again at
// once and for a while; one that took rows with no wake-up since the last
// is counted.
func (w *watcher) intakeDone(taken, limit int, full bool) {
	if taken > 0 {
		wake(w.took)
	}
	st := &w.stats
	wakes := st.wakes.Load()
	st.mu.Lock()
	defer st.mu.Unlock()
	if taken <= 0 {
		st.seen, st.cont = wakes, false
		return
	}
	st.intakes++
	// After a full batch or a full inbox the engine takes more without
	// a wake-up: not a miss.
	if wakes == st.seen && !st.cont {
		st.unwoken++
	}
	st.seen, st.cont = wakes, taken >= limit || full
}

// logStats writes what the watcher did, once, at Close, for a store that
// took rows from T_TTI (a relay's; the CLI's tools take none and say nothing).
func (w *watcher) logStats(log *slog.Logger, path string) {
	st := &w.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.intakes == 0 && st.wakes.Load() == 0 {
		return
	}
	log.Info("sqlite wake-up watcher stopped", "db", path, "looks", st.looks.Load(), "intake_wakeups", st.wakes.Load(),
		"intakes_with_rows", st.intakes, "intakes_not_woken", st.unwoken)
}

// events says whether the watcher hears of writes at once (inotify): then
// the relay's polls are only a fallback for a missed event and can be long.
func (w *watcher) events() bool { return w.files != nil }

// close stops the watcher and closes its connection; once only (the
// store's Close).
func (w *watcher) close() {
	w.stop()
	if w.files != nil {
		w.files.close()
	}
	w.wg.Wait()
	w.conn.Close()
	w.db.Close()
}

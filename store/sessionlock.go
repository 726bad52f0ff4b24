package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// ErrClosed is what a store says once it is closed; each dialect's
// ErrClosed is this one.
var ErrClosed = errors.New("store closed")

// SessionLock is how a server dialect holds one named lock as a session
// lock (an advisory lock, an applock): the statements it runs on the
// lock's own connection.
type SessionLock struct {
	// Take asks for the lock without waiting; false when another session
	// holds it.
	Take func(ctx context.Context, conn *sql.Conn) (bool, error)
	// Check fails when the session may no longer hold the lock.
	Check func(ctx context.Context, conn *sql.Conn) error
	// Release, when set, releases the lock before its connection is closed
	// (closing the session releases it anyway).
	Release func(ctx context.Context, conn *sql.Conn) error
}

// SessionLocks are the named locks a store holds (relay.Locker), each on a
// connection taken out of the pool for as long as it is held: the lock lives
// and dies with that session, so a relay killed or cut off from the database
// loses it at once and another takes it over, and a pool that resets or
// reuses sessions cannot hand the lock to another caller. The zero value is
// ready; Close ends them all.
type SessionLocks struct {
	Log *slog.Logger // where a lost lock is reported; nil: nowhere
	// Every is how often a held lock's connection is checked: a holder
	// learns within about this long that its lock is lost. 0: a second.
	Every time.Duration

	mu     sync.Mutex
	closed bool
	held   map[*heldLock]bool
}

// heldLock is one lock and the goroutine that watches its connection.
type heldLock struct {
	conn *sql.Conn
	lk   SessionLock
	lost chan struct{}
	stop chan struct{}
	once sync.Once
	done chan struct{} // the watcher has returned
}

// TryLock takes the lock lk on a connection of db of its own, as
// relay.Locker.TryLock: held, a channel closed when it is lost (its
// connection failed, or Close ran) and its release, safe twice. After Close
// it fails with ErrClosed.
func (ls *SessionLocks) TryLock(ctx context.Context, db *sql.DB, name string, lk SessionLock) (bool, <-chan struct{}, func(), error) {
	if ls.isClosed() {
		return false, nil, nil, ErrClosed
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, nil, nil, err
	}
	held, err := lk.Take(ctx, conn)
	if err != nil {
		Discard(conn) // whether it holds the lock is unknown
		return false, nil, nil, err
	}
	if !held {
		// back to the pool: it holds nothing, and the relays that wait try
		// again later
		_ = conn.Close()
		return false, nil, nil, nil
	}
	l := &heldLock{conn: conn, lk: lk, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	ls.mu.Lock()
	if ls.closed {
		ls.mu.Unlock()
		Discard(conn)
		return false, nil, nil, ErrClosed
	}
	if ls.held == nil {
		ls.held = map[*heldLock]bool{}
	}
	ls.held[l] = true
	ls.mu.Unlock()
	go l.watch(ls.logger(), ls.every(), name)
	release := func() {
		l.end()
		ls.mu.Lock()
		delete(ls.held, l)
		ls.mu.Unlock()
	}
	return true, l.lost, release, nil
}

// Close ends every lock held, whose holders read them as lost; later
// TryLocks fail. It is safe to call twice.
func (ls *SessionLocks) Close() {
	ls.mu.Lock()
	ls.closed = true
	held := ls.held
	ls.held = nil
	ls.mu.Unlock()
	for l := range held {
		l.end()
		select {
		case <-l.lost:
		default:
			close(l.lost)
		}
	}
}

func (ls *SessionLocks) isClosed() bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.closed
}

func (ls *SessionLocks) every() time.Duration {
	if ls.Every > 0 {
		return ls.Every
	}
	return time.Second
}

func (ls *SessionLocks) logger() *slog.Logger {
	if ls.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return ls.Log
}

// watch checks the lock's connection until it is released or found lost.
func (l *heldLock) watch(log *slog.Logger, every time.Duration, name string) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*every)
		err := l.lk.Check(ctx, l.conn)
		cancel()
		if err != nil {
			log.Warn("named lock lost", "lock", name, "err", err)
			close(l.lost)
			return
		}
	}
}

// end stops the watcher, releases the lock where the dialect says how, and
// closes the connection instead of returning it to the pool: closing the
// session is what releases the lock for certain, and a pooled connection
// still holding it would keep it for ever.
func (l *heldLock) end() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		if l.lk.Release != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = l.lk.Release(ctx, l.conn)
			cancel()
		}
		Discard(l.conn)
	})
}

// Discard closes a connection taken from a pool without handing it back
// (its session ends), as after an error that leaves its state unknown.
func Discard(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}

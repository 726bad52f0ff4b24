package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"
	"time"
)

// lockClass is the first key of the relay's named locks ("ctir"); the
// second is a hash of the lock's name qualified by the inbox table, so two
// relay installations in one database (other schema or prefix) never share
// one. The two-key form never meets the one-key locks of intake, output and
// the migrator.
const lockClass = 0x63746972

// lockCheckEvery is how often a held lock's connection is checked: a
// connection that died took its session lock with it, and the holder must
// know within about this long.
var lockCheckEvery = time.Second

// namedLock is one session advisory lock held on its own connection.
type namedLock struct {
	conn *sql.Conn
	lost chan struct{}
	stop chan struct{}
	once sync.Once
	done chan struct{} // the watcher has returned
}

// TryLock implements relay.Store (Locker) with pg_try_advisory_lock on a connection
// taken from the pool for as long as the lock is held: the lock lives and
// dies with that session, so a relay killed or cut off from the database
// loses it at once, and another takes it over.
func (s *Store) TryLock(ctx context.Context, name string) (bool, <-chan struct{}, func(), error) {
	if err := s.check(); err != nil {
		return false, nil, nil, err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, nil, nil, fail("take lock "+name, err)
	}
	var held bool
	err = conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`,
		lockClass, s.names["inbox"]+"/"+name).Scan(&held)
	if err != nil {
		discard(conn) // whether it holds the lock is unknown
		return false, nil, nil, fail("take lock "+name, err)
	}
	if !held {
		// back to the pool: it holds nothing, and the relays that wait
		// try every second
		_ = conn.Close()
		return false, nil, nil, nil
	}
	l := &namedLock{conn: conn, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		discard(conn)
		return false, nil, nil, ErrClosed
	}
	if s.locks == nil {
		s.locks = map[*namedLock]bool{}
	}
	s.locks[l] = true
	s.mu.Unlock()
	go l.watch(s, name)
	release := func() {
		l.end()
		s.mu.Lock()
		delete(s.locks, l)
		s.mu.Unlock()
	}
	return true, l.lost, release, nil
}

// watch checks the lock's connection until it is released or found dead.
func (l *namedLock) watch(s *Store, name string) {
	defer close(l.done)
	t := time.NewTicker(lockCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*lockCheckEvery)
		_, err := l.conn.ExecContext(ctx, `SELECT 1`)
		cancel()
		if err != nil {
			s.log.Warn("named lock lost: its database connection failed", "lock", name, "err", err)
			close(l.lost)
			return
		}
	}
}

// end stops the watcher and closes the connection instead of returning it
// to the pool: closing the session is what releases the lock, and a pooled
// connection still holding it would keep it for ever.
func (l *namedLock) end() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		discard(l.conn)
	})
}

func discard(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}

// dropLocks ends every lock, when the store closes.
func (s *Store) dropLocks() {
	s.mu.Lock()
	locks := s.locks
	s.locks = nil
	s.mu.Unlock()
	for l := range locks {
		l.end()
		select {
		case <-l.lost:
		default:
			close(l.lost)
		}
	}
}

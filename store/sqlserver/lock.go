package sqlserver

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"sync"
	"time"
)

// lockCheckEvery is how often a held named lock's connection is checked: a
// session that died took its applock with it, and the holder must know
// within about this long.
var lockCheckEvery = time.Second

// namedLock is one session applock held on a connection of its own.
type namedLock struct {
	lock *SessionLock
	lost chan struct{}
	stop chan struct{}
	once sync.Once
	done chan struct{} // the watcher has returned
}

// lockResource is the applock resource of a named lock: qualified by the
// inbox table, so two relay installations in one database (another schema
// or prefix) never share one, and no longer than sp_getapplock's 255.
func (s *Store) lockResource(name string) string {
	r := "ctirelay:" + name + "@" + s.names["inbox"]
	if len(r) > 255 {
		sum := sha256.Sum256([]byte(r))
		r = r[:255-1-16] + "#" + hex.EncodeToString(sum[:8])
	}
	return r
}

// TryLock implements relay.Locker with a session applock (sp_getapplock,
// @LockOwner 'Session', no wait) on a connection taken out of the pool for
// as long as the lock is held: the pool resets a session it hands out again
// (sp_reset_connection), which would drop the lock. The lock lives and dies
// with that session, so a relay killed or cut off from the database loses
// it at once, and another takes it over; an error on its connection means
// the lock is lost.
func (s *Store) TryLock(ctx context.Context, name string) (bool, <-chan struct{}, func(), error) {
	if err := s.check(); err != nil {
		return false, nil, nil, err
	}
	sl, err := lockSession(ctx, s.db.DB, s.lockResource(name), 0)
	if err != nil {
		if isLockHeld(err) {
			return false, nil, nil, nil // the connection went back to the pool
		}
		return false, nil, nil, fail("take lock "+name, err)
	}
	l := &namedLock{lock: sl, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		discard(sl.conn)
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

// watch asks the server, on the lock's own connection, whether the session
// still holds it, until it is released or found lost.
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
		err := l.lock.Check(ctx)
		cancel()
		if err != nil {
			s.log.Warn("named lock lost", "lock", name, "err", err)
			close(l.lost)
			return
		}
	}
}

// end stops the watcher, releases the applock and closes the connection
// rather than hand it back: closing the session releases the lock whatever
// the release said, and a pooled connection holding it would keep it.
func (l *namedLock) end() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = releaseAppLock(ctx, l.lock.conn, l.lock.resource)
		cancel()
		discard(l.lock.conn)
	})
}

func discard(c *sql.Conn) {
	_ = c.Raw(func(any) error { return errBadConn })
	_ = c.Close()
}

// dropLocks ends every lock, when the store closes: their holders read them
// as lost.
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

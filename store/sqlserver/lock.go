package sqlserver

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ctirelay/ctirelay/store"
)

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
// as long as the lock is held (store.SessionLocks): the pool resets a
// session it hands out again (sp_reset_connection), which would drop the
// lock. An error on its connection, or the server saying the session no
// longer holds it, means the lock is lost.
func (s *Store) TryLock(ctx context.Context, name string) (bool, <-chan struct{}, func(), error) {
	if err := s.check(); err != nil {
		return false, nil, nil, err
	}
	held, lost, release, err := s.pool.Locks.TryLock(ctx, s.db.DB, name, sessionAppLock(s.lockResource(name)))
	return held, lost, release, fail("take lock "+name, err)
}

// sessionAppLock is a session applock on resource, asked for without
// waiting: a status of "not granted in time" means another session holds it.
func sessionAppLock(resource string) store.SessionLock {
	return store.SessionLock{
		Take: func(ctx context.Context, conn *sql.Conn) (bool, error) {
			err := getAppLock(ctx, conn, resource, "Session", 0)
			var ae *applockError
			if errors.As(err, &ae) && ae.status == applockTimeout {
				return false, nil
			}
			return err == nil, err
		},
		Check: func(ctx context.Context, conn *sql.Conn) error {
			var mode string
			err := conn.QueryRowContext(ctx, `SELECT APPLOCK_MODE(N'public', @p1, 'Session')`, resource).Scan(&mode)
			if err != nil {
				return fail("check applock "+resource, err)
			}
			if mode == "NoLock" {
				return fmt.Errorf("applock %s: no longer held", resource)
			}
			return nil
		},
		Release: func(ctx context.Context, conn *sql.Conn) error { return releaseAppLock(ctx, conn, resource) },
	}
}

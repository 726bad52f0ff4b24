package postgres

import (
	"context"
	"database/sql"

	"github.com/ctirelay/ctirelay/store"
)

// lockClass is the first key of the relay's named locks ("ctir"); the
// second is a hash of the lock's name qualified by the inbox table, so two
// relay installations in one database (other schema or prefix) never share
// one. The two-key form never meets the one-key locks of intake, output and
// the migrator.
const lockClass = 0x63746972

// TryLock implements relay.Store (Locker) with a session advisory lock
// (pg_try_advisory_lock) on a connection of its own (store.SessionLocks).
// A session's advisory locks end with it: releasing closes the connection,
// and a dead connection is a lost lock.
func (s *Store) TryLock(ctx context.Context, name string) (bool, <-chan struct{}, func(), error) {
	if err := s.check(); err != nil {
		return false, nil, nil, err
	}
	key := s.names["inbox"] + "/" + name
	held, lost, release, err := s.pool.Locks.TryLock(ctx, s.db.DB, name, store.SessionLock{
		Take: func(ctx context.Context, conn *sql.Conn) (bool, error) {
			var held bool
			err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockClass, key).Scan(&held)
			return held, err
		},
		Check: func(ctx context.Context, conn *sql.Conn) error {
			_, err := conn.ExecContext(ctx, `SELECT 1`)
			return err
		},
	})
	return held, lost, release, fail("take lock "+name, err)
}

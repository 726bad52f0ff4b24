package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/ctirelay/ctirelay/schema"
)

// migrateLockKey is the advisory lock held while migrating ("ctirmigr" in
// ASCII); other locks of the relay use other keys (queries.go).
const migrateLockKey int64 = 0x637469726d696772

// Migrations is the PostgreSQL dialect of the migrator: its steps
// (schema/postgres/), its version table, and an advisory lock around the run so
// relays starting together do not race.
var Migrations = schema.Dialect{
	Name: "postgres",
	FS:   schema.Migrations("postgres"),
	Bootstrap: func(names map[string]string) string {
		s := schema.Render(`CREATE TABLE IF NOT EXISTS {{migrations}} (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL
);
`, names)
		// every relay table lives in a configured schema: it comes first
		if names["schema"] != "" {
			s = "CREATE SCHEMA IF NOT EXISTS " + names["schema"] + ";\n" + s
		}
		return s
	},
	Exists:    `SELECT to_regclass($1) IS NOT NULL`,
	IsApplied: `SELECT count(*) FROM {{migrations}} WHERE version = $1`,
	Record:    `INSERT INTO {{migrations}} (version, name, applied_at) VALUES ($1, $2, $3)`,
	Stamp:     func(t time.Time) any { return t.UTC() },
	Lock:      advisoryLock,
}

// advisoryLock holds a session advisory lock on c. The unlock runs even
// when ctx is cancelled; if it fails the connection is discarded so a lock
// never stays behind in the pool.
func advisoryLock(ctx context.Context, c *sql.Conn) (func() error, error) {
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	return func() error {
		_, err := c.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey)
		if err != nil {
			_ = c.Raw(func(any) error { return driver.ErrBadConn })
			return fmt.Errorf("release migration lock: %w", err)
		}
		return nil
	}, nil
}

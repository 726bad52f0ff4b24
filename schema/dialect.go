package schema

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ctirelay/ctirelay/store"
)

// dialect is what the migrator needs to know about one SQL dialect: how to
// create and read its version table and how to keep two migrators apart.
type dialect struct {
	bootstrap string // creates {{migrations}} when absent
	exists    string // one bool-ish row: does {{migrations}} exist; arg: its name
	isApplied string // count of rows for a version; arg: version
	record    string // inserts (version, name, applied_at)
	stamp     func(time.Time) any
	// lock serialises migrators across processes for the whole run; nil when
	// each step's transaction is enough (SQLite has a single writer).
	lock func(ctx context.Context, c *sql.Conn) (unlock func() error, err error)
}

// migrateLockKey is the PostgreSQL advisory lock held while migrating
// ("ctirmigr" in ASCII); other locks of the relay use other keys.
const migrateLockKey int64 = 0x637469726d696772

var dialects = map[string]dialect{
	SQLite: {
		bootstrap: `CREATE TABLE IF NOT EXISTS {{migrations}} (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL -- microseconds since the Unix epoch, UTC
);
`,
		exists:    `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE`,
		isApplied: `SELECT count(*) FROM {{migrations}} WHERE version = ?`,
		record:    `INSERT INTO {{migrations}} (version, name, applied_at) VALUES (?, ?, ?)`,
		stamp:     func(t time.Time) any { return t.UnixMicro() },
	},
	Postgres: {
		bootstrap: `CREATE TABLE IF NOT EXISTS {{migrations}} (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL
);
`,
		exists:    `SELECT to_regclass($1) IS NOT NULL`,
		isApplied: `SELECT count(*) FROM {{migrations}} WHERE version = $1`,
		record:    `INSERT INTO {{migrations}} (version, name, applied_at) VALUES ($1, $2, $3)`,
		stamp:     func(t time.Time) any { return t.UTC() },
		lock:      pgAdvisoryLock,
	},
}

func lookup(name string) (dialect, error) {
	d, ok := dialects[name]
	if !ok {
		return dialect{}, fmt.Errorf("unknown SQL dialect %q", name)
	}
	return d, nil
}

// bootstrapSQL renders the version table; on PostgreSQL a configured schema
// is created first, since every relay table lives in it.
func (d dialect) bootstrapSQL(names map[string]string) string {
	s := store.Render(d.bootstrap, names)
	if d.lock != nil && names["schema"] != "" {
		s = "CREATE SCHEMA IF NOT EXISTS " + names["schema"] + ";\n" + s
	}
	return s
}

// pgAdvisoryLock holds a session advisory lock on c. The unlock runs even
// when ctx is cancelled; if it fails the connection is discarded so a lock
// never stays behind in the pool.
func pgAdvisoryLock(ctx context.Context, c *sql.Conn) (func() error, error) {
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	return func() error {
		_, err := c.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey)
		if err != nil {
			_ = c.Raw(func(any) error { return errBadConn })
			return fmt.Errorf("release migration lock: %w", err)
		}
		return nil
	}, nil
}

package sqlserver

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
)

// migrateWait bounds the wait for another relay's migration.
const migrateWait = 5 * time.Minute

// Migrations is the SQL Server dialect of the migrator: its steps
// (schema/sqlserver/), its version table, and a session applock around the
// run so relays starting together do not race.
var Migrations = schema.Dialect{
	Name: "sqlserver",
	FS:   schema.Migrations("sqlserver"),
	Bootstrap: func(names map[string]string) string {
		// Through EXEC, compiled when it runs: the schema it names may be
		// created only by the line before, in this batch.
		s := schema.Render(`IF OBJECT_ID(N'{{migrations}}', N'U') IS NULL
    EXEC (N'CREATE TABLE {{migrations}} (
        version    int           NOT NULL PRIMARY KEY,
        name       nvarchar(200) NOT NULL,
        applied_at datetime2(6)  NOT NULL
    )');
`, names)
		// every relay table lives in a configured schema: it comes first
		// (CREATE SCHEMA must be alone in its batch, hence EXEC)
		if names["schema"] != "" {
			s = "IF SCHEMA_ID(N'" + names["schema"] + "') IS NULL EXEC (N'CREATE SCHEMA " + names["schema"] + "');\n" + s
		}
		return s
	},
	Exists:    `SELECT CAST(CASE WHEN OBJECT_ID(@p1, N'U') IS NULL THEN 0 ELSE 1 END AS bit)`,
	IsApplied: `SELECT COUNT(*) FROM {{migrations}} WHERE version = @p1`,
	Record:    `INSERT INTO {{migrations}} (version, name, applied_at) VALUES (@p1, @p2, @p3)`,
	Stamp:     func(t time.Time) any { return ts(t) },
	Lock:      migrateLock,
}

// migrateResource is the session applock every migrator of a database takes.
const migrateResource = "ctirelay:migrate"

// migrateLock holds a session applock on c, the migrator's one connection,
// for the whole run; sp_getapplock's status is checked (a lock not granted
// is an error, not a run without it). The unlock runs even when ctx is
// cancelled; if it fails the connection is discarded so a lock never stays
// behind in the pool.
func migrateLock(ctx context.Context, c *sql.Conn) (func() error, error) {
	if err := getAppLock(ctx, c, migrateResource, "Session", migrateWait); err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	return func() error {
		err := releaseAppLock(context.WithoutCancel(ctx), c, migrateResource)
		if err != nil {
			_ = c.Raw(func(any) error { return errBadConn })
			return fmt.Errorf("release migration lock: %w", err)
		}
		return nil
	}, nil
}

// SetNotifyTrigger implements store.DB: SQL Server has no notify trigger
// here (the relays poll).
func (s *Store) SetNotifyTrigger(_ context.Context, on bool) error { return store.NoNotifyTrigger(on) }

// ReleaseMemory implements store.DB: the server holds the memory.
func (s *Store) ReleaseMemory() {}

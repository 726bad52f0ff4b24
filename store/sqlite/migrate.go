package sqlite

import (
	"time"

	"github.com/ctirelay/ctirelay/schema"
)

// Migrations is the SQLite dialect of the migrator: its steps (schema/sqlite/)
// and version table. Each step's transaction is enough to keep migrators
// apart, SQLite having a single writer.
var Migrations = schema.Dialect{
	Name: "sqlite",
	FS:   schema.Migrations("sqlite"),
	Bootstrap: func(names map[string]string) string {
		return schema.Render(`CREATE TABLE IF NOT EXISTS {{migrations}} (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL -- microseconds since the Unix epoch, UTC
);
`, names)
	},
	Exists:    `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE`,
	IsApplied: `SELECT count(*) FROM {{migrations}} WHERE version = ?`,
	Record:    `INSERT INTO {{migrations}} (version, name, applied_at) VALUES (?, ?, ?)`,
	Stamp:     func(t time.Time) any { return t.UnixMicro() },
}

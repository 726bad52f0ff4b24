package sqlite

import (
	"embed"
	"io/fs"
	"time"

	"github.com/ctirelay/ctirelay/schema"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the SQLite dialect of the migrator: its steps (migrations/)
// and version table. Each step's transaction is enough to keep migrators
// apart, SQLite having a single writer.
var Migrations = schema.Dialect{
	Name: "sqlite",
	FS:   mustSub(migrationFiles, "migrations"),
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

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // dir is a constant naming an embedded directory
	}
	return sub
}

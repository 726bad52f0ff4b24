package schema

import (
	"embed"
	"io/fs"
)

// Every dialect's numbered steps live here, in schema/<dialect>/, so that the
// SQL a DBA reviews is in one place and a shipped step is visibly never
// edited; the dialect's store (store/<dialect>) brings the rest.
//
//go:embed */*.sql
var migrationFiles embed.FS

// Migrations returns the steps of a dialect (the directory of that name):
// the FS of a Dialect. A dialect without a directory has none, which Steps
// reports.
func Migrations(dialect string) fs.FS {
	sub, err := fs.Sub(migrationFiles, dialect)
	if err != nil {
		// fs.Sub fails only on an invalid name; Steps then says so.
		return emptyFS{}
	}
	return sub
}

type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

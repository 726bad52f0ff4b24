package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ctirelay/ctirelay/store"
)

func init() {
	store.Register(store.Dialect{
		Name:    Migrations.Name,
		Schemes: []string{"sqlite:"},
		Usage:   "sqlite:PATH",
		Target:  target,
		Open: func(ctx context.Context, path string, opts store.Options, exclusive bool) (store.DB, error) {
			return Open(ctx, path, opts, exclusive)
		},
		SoleRelay:  true,
		Migrations: Migrations,
		Bench:      store.Bench{Open: openBench, Floor: floor},
	})
}

// target is the file of sqlite:PATH (sqlite://PATH too).
func target(dsn string) (string, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
	if path == "" {
		return "", fmt.Errorf("%q names no file (use sqlite:ctirelay.db)", dsn)
	}
	return path, nil
}

// openBench creates a throwaway database file beside path: the configured
// file is never touched.
func openBench(ctx context.Context, path string, spec store.BenchSpec) (*store.BenchTarget, error) {
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	file := filepath.Join(filepath.Dir(path), "ctirelay-bench-"+hex.EncodeToString(suffix[:])+".db")
	remove := func() error {
		var errs []error
		for _, f := range []string{file, file + "-wal", file + "-shm", file + ".lock"} {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	st, err := OpenConfig(ctx, file, spec.Options, Config{Exclusive: true, Synchronous: spec.Synchronous})
	if err != nil {
		return nil, fmt.Errorf("bench database: %w", err)
	}
	fail := func(err error) (*store.BenchTarget, error) {
		_ = st.Close()
		_ = remove()
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		return fail(fmt.Errorf("bench database: %w", err))
	}
	sync := strings.ToUpper(spec.Synchronous)
	if sync == "" {
		sync = "FULL"
	}
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", sync)
	q.Set("_txlock", "immediate")
	erp, err := sql.Open("sqlite", file+"?"+q.Encode())
	if err != nil {
		return fail(fmt.Errorf("bench database: erp connection: %w", err))
	}
	erp.SetMaxOpenConns(1)
	return &store.BenchTarget{Store: st, ERP: erp, Names: st.Names(), Where: file, Drop: func() error {
		_ = erp.Close()
		cerr := st.Close()
		if spec.Keep {
			return cerr
		}
		return errors.Join(cerr, remove())
	}}, nil
}

// floor is a copy and a delete in one transaction: SQLite has no
// data-modifying CTE, and a single writer, so both see the same oldest rows.
func floor(names map[string]string) []string {
	tti, tto := names["tti"], names["tto"]
	return []string{
		`INSERT INTO ` + tto + ` (DS_TTO) SELECT DS_TTI FROM ` + tti + ` ORDER BY IS_TTI LIMIT ? + 0`,
		`DELETE FROM ` + tti + ` WHERE IS_TTI IN (SELECT IS_TTI FROM ` + tti + ` ORDER BY IS_TTI LIMIT ? + 0)`,
	}
}

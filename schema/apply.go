package schema

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Pending returns the steps not yet recorded in the database, in order,
// without changing anything (a database never migrated has them all pending).
func (d Dialect) Pending(ctx context.Context, db *sql.DB, names map[string]string) ([]Migration, error) {
	all, err := d.Steps()
	if err != nil {
		return nil, err
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	done, err := appliedVersions(ctx, c, d, names)
	if err != nil {
		return nil, err
	}
	return notIn(all, done), nil
}

// Apply runs every pending step, each in its own transaction together with
// its record in {{migrations}}, and returns the steps it ran. A step found
// recorded once its transaction has begun (another migrator was faster) is
// skipped. The dialect's Lock, when it has one, is held around the whole run
// so relays starting together do not race.
func (d Dialect) Apply(ctx context.Context, db *sql.DB, names map[string]string) (applied []Migration, err error) {
	all, err := d.Steps()
	if err != nil {
		return nil, err
	}
	// One connection for the whole run: a lock may belong to a session, and a single-connection pool (SQLite) must not be asked for a
	// second one.
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	if d.Lock != nil {
		unlock, err := d.Lock(ctx, c)
		if err != nil {
			return nil, err
		}
		defer func() {
			if uerr := unlock(); uerr != nil && err == nil {
				err = uerr
			}
		}()
	}
	if _, err := c.ExecContext(ctx, d.Bootstrap(names)); err != nil {
		return nil, fmt.Errorf("create %s: %w", names["migrations"], err)
	}
	done, err := appliedVersions(ctx, c, d, names)
	if err != nil {
		return nil, err
	}
	for _, m := range notIn(all, done) {
		ran, err := applyOne(ctx, c, d, m, names)
		if err != nil {
			return applied, err
		}
		if ran {
			applied = append(applied, m)
		}
	}
	return applied, nil
}

// applyOne runs one step and its record in one transaction.
func applyOne(ctx context.Context, c *sql.Conn, d Dialect, m Migration, names map[string]string) (ran bool, err error) {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %s: begin: %w", m.File, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var n int
	if err := tx.QueryRowContext(ctx, Render(d.IsApplied, names), m.Version).Scan(&n); err != nil {
		return false, fmt.Errorf("migration %s: check version: %w", m.File, err)
	}
	if n > 0 {
		return false, tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, m.Rendered(names)); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.File, err)
	}
	if _, err := tx.ExecContext(ctx, Render(d.Record, names), m.Version, m.Name, d.Stamp(time.Now())); err != nil {
		return false, fmt.Errorf("migration %s: record: %w", m.File, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", m.File, err)
	}
	return true, nil
}

// appliedVersions reads the recorded versions; none when the table is absent.
func appliedVersions(ctx context.Context, c *sql.Conn, d Dialect, names map[string]string) (map[int]bool, error) {
	var exists bool
	if err := c.QueryRowContext(ctx, d.Exists, names["migrations"]).Scan(&exists); err != nil {
		return nil, fmt.Errorf("look for %s: %w", names["migrations"], err)
	}
	done := map[int]bool{}
	if !exists {
		return done, nil
	}
	rows, err := c.QueryContext(ctx, Render(`SELECT version FROM {{migrations}}`, names))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", names["migrations"], err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read %s: %w", names["migrations"], err)
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", names["migrations"], err)
	}
	return done, nil
}

func notIn(all []Migration, done map[int]bool) []Migration {
	var out []Migration
	for _, m := range all {
		if !done[m.Version] {
			out = append(out, m)
		}
	}
	return out
}

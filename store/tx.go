package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Beginner starts transactions: *sql.DB, *sqlx.DB, *sql.Conn.
type Beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// InTx runs fn in one transaction: committed when fn returns nil, rolled
// back when it fails or panics. A failure to begin or to commit says which
// it was; fn's own error is returned as it is.
func InTx(ctx context.Context, db Beginner, opts *sql.TxOptions, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true // a failed commit has ended the transaction too
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

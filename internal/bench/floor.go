package bench

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// floorResult is what the database alone does: the cheapest SQL that moves
// rows from T_TTI to T_TTO, oldest first, batch rows per transaction, on one
// connection, with the same durability settings as the relay. The SQL is the
// dialect's (store.Bench.Floor).
type floorResult struct {
	Rows       int64   `json:"rows"`
	Batch      int     `json:"batch"`
	Seconds    float64 `json:"seconds"`
	RowsPerSec float64 `json:"rows_per_s"`
	SQL        string  `json:"sql"`
}

// measureFloor preloads rows into a fresh T_TTI and times moving them all.
func measureFloor(ctx context.Context, t *target, rows int64, batch, agents int, progress func(string, int64, int64)) (floorResult, error) {
	res := floorResult{Rows: rows, Batch: batch}
	w := newERPWriter(t.ERP, t.Names["tti"], agents)
	if err := w.preload(ctx, rows, preloadChunk, func(done int64) { progress("floor: preload", done, rows) }); err != nil {
		return res, fmt.Errorf("floor: %w", err)
	}
	stmts := t.dialect.Bench.Floor(t.Names)
	res.SQL = stmts[0]
	if len(stmts) > 1 {
		res.SQL = "BEGIN; " + stmts[0] + "; " + stmts[1] + "; COMMIT"
	}
	conn, err := t.ERP.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("floor: %w", err)
	}
	defer conn.Close()
	start := time.Now()
	var moved int64
	for moved < rows {
		n, err := moveBatch(ctx, conn, stmts, batch)
		if err != nil {
			return res, fmt.Errorf("floor: move: %w", err)
		}
		if n == 0 {
			return res, fmt.Errorf("floor: moved %d rows, want %d", moved, rows)
		}
		moved += n
		progress("floor: move", moved, rows)
	}
	res.Seconds = time.Since(start).Seconds()
	res.RowsPerSec = float64(moved) / res.Seconds
	return res, nil
}

func moveBatch(ctx context.Context, conn *sql.Conn, stmts []string, batch int) (int64, error) {
	if len(stmts) == 1 {
		r, err := conn.ExecContext(ctx, stmts[0], batch)
		if err != nil {
			return 0, err
		}
		return r.RowsAffected()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	r, err := tx.ExecContext(ctx, stmts[0], batch)
	if err != nil {
		return 0, err
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, stmts[1], batch); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

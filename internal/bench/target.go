package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/ctirelay/ctirelay/store"
)

// target is a set of tables of the bench's own, created fresh for one run
// by the dialect (store.Bench.Open): the configured tables are never
// touched. The relay's statements on them are counted.
type target struct {
	*store.BenchTarget
	dialect store.Dialect
	counter *sqlCounter
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// lookup finds the dialect of dsn and checks it can be benchmarked.
func lookup(dsn string) (store.Dialect, string, error) {
	name, where, err := store.ParseDSN(dsn)
	if err != nil {
		return store.Dialect{}, "", fmt.Errorf("--db: %w", err)
	}
	d, err := store.Lookup(name)
	if err != nil {
		return store.Dialect{}, "", fmt.Errorf("--db: %w", err)
	}
	if d.Bench.Open == nil || d.Bench.Floor == nil {
		return store.Dialect{}, "", fmt.Errorf("--db: ctirelay bench does not run on %s", d.Name)
	}
	return d, where, nil
}

// openTarget creates the run's tables and opens the store on them.
func openTarget(ctx context.Context, cfg Config) (*target, error) {
	d, where, err := lookup(cfg.DSN)
	if err != nil {
		return nil, err
	}
	counter := &sqlCounter{}
	t, err := d.Bench.Open(ctx, where, store.BenchSpec{
		Options:     store.Options{Logger: cfg.Log, WrapConnector: counter.wrap},
		Synchronous: cfg.Synchronous, Notify: cfg.Notify, Keep: cfg.Keep,
	})
	if err != nil {
		return nil, err
	}
	return &target{BenchTarget: t, dialect: d, counter: counter}, nil
}

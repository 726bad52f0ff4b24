package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/ctirelay/ctirelay/schema"
)

// MaxIdle keeps enough connections for the engine's concurrent loops
// (intake, claim, settle, leases) plus admin calls, so none is reopened
// on every call.
const MaxIdle = 16

// Pool is what a server dialect's store holds whatever its SQL: the
// connection pool, the dialect's migrations run on it, its named locks, and
// whether it is closed.
type Pool struct {
	DB    *sqlx.DB
	Locks SessionLocks

	log        *slog.Logger
	migrations schema.Dialect
	names      map[string]string
	fail       func(op string, err error) error

	mu     sync.Mutex
	closed bool
}

// OpenPool opens a pool on c, passed through opts.WrapConnector, and pings
// it (an error is the ping's, as it is, the pool closed). driverName is
// sqlx's, for its placeholders; m are the dialect's migrations, and fail
// classifies its errors, as Migrate and Pending return them. opts has its
// defaults (Options.WithDefaults).
func OpenPool(ctx context.Context, driverName string, c driver.Connector, opts Options, m schema.Dialect,
	fail func(op string, err error) error) (*Pool, error) {
	if opts.WrapConnector != nil {
		c = opts.WrapConnector(c)
	}
	db := sqlx.NewDb(sql.OpenDB(c), driverName)
	db.SetMaxIdleConns(MaxIdle)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Pool{DB: db, Locks: SessionLocks{Log: opts.Logger}, log: opts.Logger, migrations: m, names: opts.Names(), fail: fail}, nil
}

// Check fails with ErrClosed once the pool is closed.
func (p *Pool) Check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	return nil
}

// Migrate applies the pending schema steps and returns those it ran.
// Several relays may call it at once: the dialect's migrator holds a lock.
func (p *Pool) Migrate(ctx context.Context) ([]schema.Migration, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	applied, err := p.migrations.Apply(ctx, p.DB.DB, p.names)
	if err != nil {
		return applied, p.fail("migrate", err)
	}
	for _, m := range applied {
		p.log.Info("schema migrated", "version", m.Version, "name", m.Name)
	}
	return applied, nil
}

// Pending lists the schema steps not yet applied, changing nothing.
func (p *Pool) Pending(ctx context.Context) ([]schema.Migration, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	pending, err := p.migrations.Pending(ctx, p.DB.DB, p.names)
	if err != nil {
		return nil, p.fail("pending migrations", err)
	}
	return pending, nil
}

// Close ends the named locks, then runs what the dialect closes besides
// (before), then closes the pool. It is safe to call twice.
func (p *Pool) Close(before ...func() error) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.Locks.Close()
	var errs []error
	for _, f := range before {
		errs = append(errs, f())
	}
	if err := errors.Join(append([]error{p.DB.Close()}, errs...)...); err != nil {
		return fmt.Errorf("close %s store: %w", p.migrations.Name, err)
	}
	return nil
}

// Package sqlite is the relay store on SQLite (modernc.org/sqlite, no cgo):
// the embedded default. SQLite has one writer at a time, so the store keeps a
// single connection, runs every transaction as BEGIN IMMEDIATE, and allows a
// single relay per database file.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
)

var _ relay.Store = (*Store)(nil)

// Config holds what only SQLite has.
type Config struct {
	// Exclusive takes an OS lock on <path>.lock for the life of the store so
	// a second relay on the same file is refused (ctirelay run). Short-lived
	// tools (send, status) open without it and work beside a running relay.
	Exclusive bool
	// Synchronous is PRAGMA synchronous: FULL (the default) syncs every
	// commit, so no committed message is lost on power failure. NORMAL is
	// faster and can lose the last commits on power loss (never corrupts).
	Synchronous string
	// BusyTimeout is how long a write waits for another writer (the ERP, a
	// CLI) before failing; default 5s.
	BusyTimeout time.Duration
}

// Store implements relay.Store on one SQLite file.
type Store struct {
	db    *sqlx.DB
	path  string
	names map[string]string
	q     *queries
	log   *slog.Logger
	lock  *fileLock
	lost  chan struct{} // closed at Close: the named locks are gone (under singletons.mu)

	// The wake-up watcher (wake.go), started by the first Wakeups: tools
	// that never run an engine open no second connection.
	cfg       Config
	watchMu   sync.Mutex
	watch     *watcher
	watchDone bool // started, failed or closed: never again
	after     func(time.Duration) <-chan time.Time
	noFiles   bool // tests: the watcher looks on its timer only
	// writes counts this store's own write transactions on its hot paths
	// (inTx, the leases): the watcher tells another process's commit by it.
	writes ownWrites

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the database at path with the default
// Config; exclusive as in Config.Exclusive. It does not migrate: call Migrate.
func Open(ctx context.Context, path string, opts store.Options, exclusive bool) (*Store, error) {
	return OpenConfig(ctx, path, opts, Config{Exclusive: exclusive})
}

// OpenConfig opens the database at path with SQLite-specific settings.
func OpenConfig(ctx context.Context, path string, opts store.Options, cfg Config) (*Store, error) {
	opts, err := opts.WithDefaults()
	if err != nil {
		return nil, err
	}
	if opts.Schema != "" {
		return nil, fmt.Errorf("invalid schema %q: SQLite has no schemas, leave it empty", opts.Schema)
	}
	dsn, err := dataSource(path, cfg, opts.MustExist)
	if err != nil {
		return nil, err
	}
	if opts.MustExist {
		// Options.MustExist: no empty database for a mistyped path.
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s", store.ErrNoDatabase, path)
		} else if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	s := &Store{path: path, names: opts.Names(), log: opts.Logger, lost: make(chan struct{}), cfg: cfg, after: time.After}
	if cfg.Exclusive {
		if s.lock, err = lockFile(path); err != nil {
			return nil, err
		}
	}
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		s.unlock()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var connector driver.Connector = cachingConnector{base}
	if opts.WrapConnector != nil {
		connector = opts.WrapConnector(connector)
	}
	db := sqlx.NewDb(sql.OpenDB(connector), "sqlite")
	// SQLite has a single writer: one connection serialises the relay's own
	// transactions instead of having them wait on each other's file locks.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		s.unlock()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.db = db
	s.q = renderQueries(s.names)
	return s, nil
}

// dataSource builds the DSN: WAL so readers never block the writer,
// immediate transactions so two writers never deadlock upgrading a read lock.
func dataSource(path string, cfg Config, existing bool) (string, error) {
	if path == "" {
		return "", fmt.Errorf("sqlite: empty database path")
	}
	if strings.ContainsAny(path, "?#") {
		return "", fmt.Errorf("sqlite: database path %q may not contain '?' or '#'", path)
	}
	syncMode := strings.ToUpper(cfg.Synchronous)
	switch syncMode {
	case "":
		syncMode = "FULL"
	case "OFF", "NORMAL", "FULL", "EXTRA":
	default:
		return "", fmt.Errorf("sqlite: invalid synchronous %q: use FULL, NORMAL, EXTRA or OFF", cfg.Synchronous)
	}
	busy := cfg.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Set("_busy_timeout", strconv.FormatInt(busy.Milliseconds(), 10))
	// An existing file keeps its journal mode (the relay's are WAL since
	// they were created): a tool never converts another application's file.
	if !existing {
		q.Set("_journal_mode", "WAL")
	}
	q.Set("_synchronous", syncMode)
	// A multi-row statement keeps a statement journal to undo itself alone;
	// in memory it costs no file writes.
	q.Add("_pragma", "temp_store(memory)")
	return path + "?" + q.Encode(), nil
}

// DB is the underlying pool (one connection), for tools and tests.
func (s *Store) DB() *sqlx.DB { return s.db }

// Names are the table names the store was opened with.
func (s *Store) Names() map[string]string { return s.names }

// Migrate applies the pending schema steps and returns them.
func (s *Store) Migrate(ctx context.Context) ([]schema.Migration, error) {
	applied, err := Migrations.Apply(ctx, s.db.DB, s.names)
	if err != nil {
		return applied, fmt.Errorf("migrate %s: %w", s.path, err)
	}
	for _, m := range applied {
		s.log.Info("schema migrated", "db", s.path, "version", m.Version, "name", m.Name)
	}
	return applied, nil
}

// Pending returns the schema steps not yet applied.
func (s *Store) Pending(ctx context.Context) ([]schema.Migration, error) {
	return Migrations.Pending(ctx, s.db.DB, s.names)
}

// Close closes the database and releases the relay lock; safe to call twice.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.dropLocks()
		s.watchMu.Lock()
		if s.watch != nil {
			s.watch.close()
			s.watch.logStats(s.log, s.path)
		}
		s.watchDone = true
		s.watchMu.Unlock()
		s.closeErr = s.db.Close()
		s.unlock()
	})
	return s.closeErr
}

func (s *Store) unlock() {
	if s.lock != nil {
		s.lock.release()
	}
}

// Wakeups implements relay.Queue: intake fires soon after another
// connection (the ERP, the sqlite3 shell) commits rows to T_TTI, claim
// after any commit of another connection (`ctirelay send` writes the inbox
// directly), both seen by a watcher on a read connection of its own
// (wake.go) that the first call starts. The engine still polls; if the
// watcher cannot start, the poll is all there is.
func (s *Store) Wakeups() (intake, claim <-chan struct{}) {
	w := s.watcher()
	if w == nil {
		return nil, nil
	}
	return w.intake, w.claim
}

// watcher starts the wake-up watcher on the first call; nil if it could not.
func (s *Store) watcher() *watcher {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if !s.watchDone {
		s.watchDone = true
		w, err := startWatcher(s.path, s.cfg, s.q.anyTTI, &s.writes, s.after, !s.noFiles, s.log)
		if err != nil {
			s.log.Warn("sqlite wake-up watcher not started: the relay polls", "db", s.path, "err", err)
			return nil
		}
		s.watch = w
	}
	return s.watch
}

// running is the watcher if it started, without starting it.
func (s *Store) running() *watcher {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	return s.watch
}

// WakesAtOnce says whether this store's wake-ups follow other processes'
// commits at once (the watcher runs on file events: inotify on Linux), so
// that its users' polls are only a fallback and may be long. False where
// the watcher looks on a timer or could not start (another system, a
// network file system): keep the short poll there.
func (s *Store) WakesAtOnce() bool {
	w := s.watcher()
	return w != nil && w.events()
}

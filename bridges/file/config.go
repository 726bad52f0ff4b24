package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// Defaults of Config (the SIGACTI document's rename suggestion: up to 100
// tries 250 ms apart).
const (
	DefaultScanInterval      = 200 * time.Millisecond
	DefaultRenameAttempts    = 100
	DefaultRenameWait        = 250 * time.Millisecond
	DefaultMaxFileBytes      = 64 << 10
	DefaultIncompleteTimeout = 10 * time.Second
	DefaultLockRetry         = time.Second
)

// What to do with the Tx files found when the bridge starts serving.
const (
	OnStartPurge  = "purge"  // the document's rule: dead-lettered, then removed
	OnStartIngest = "ingest" // taken as requests
)

// Store is what the bridge needs of the durable queue besides its feed.
type Store interface {
	relay.JournalReader
	relay.Spool
}

// Config wires a Bridge. Zero values take the defaults.
type Config struct {
	TxDir, RxDir string
	// ScanInterval is how often Tx is listed and Rx looked at.
	ScanInterval time.Duration
	// RenameAttempts and RenameWait: a rename that fails (SIGACTI opening
	// the file) is tried that many times that far apart; then the failure
	// is logged and counted and the answer kept for the next round.
	RenameAttempts int
	RenameWait     time.Duration
	Charset        relay.Charset
	// MaxFileBytes bounds one request file; a larger one is dead-lettered.
	MaxFileBytes int
	// IncompleteTimeout is how long a file not ending with a complete frame
	// (or empty) may stay unchanged before it is dead-lettered.
	IncompleteTimeout time.Duration
	OnStart           string            // OnStartPurge (default) | OnStartIngest
	Users             map[string]string // user code → agent login, fixed
	Feed              *relay.Feed       // the process's feed (required)
	Store             Store
	// Locker, when set, makes the bridge serve only while it holds
	// LockName (several relays share the directories on PostgreSQL); nil
	// means this relay is the only one.
	Locker    relay.Locker
	LockName  string        // LockName(TxDir) when empty
	LockRetry time.Duration // how often a waiting relay tries the lock
	// SummaryInterval is how often the serving bridge saves the summary
	// `ctirelay status` reads (DefaultSummaryInterval).
	SummaryInterval time.Duration
	Logger          *slog.Logger
	Clock           relay.Clock
}

// LockName is the relay.Locker name of the spool in dir.
func LockName(dir string) string { return "spool:" + dir }

func (c *Config) defaults() error {
	switch {
	case c.TxDir == "" || c.RxDir == "":
		return errors.New("file bridge needs tx_dir and rx_dir")
	case c.Feed == nil:
		return errors.New("file bridge needs a feed")
	case c.Store == nil:
		return errors.New("file bridge needs a store")
	}
	if c.OnStart == "" {
		c.OnStart = OnStartPurge
	}
	if c.OnStart != OnStartPurge && c.OnStart != OnStartIngest {
		return fmt.Errorf("on_start must be %s or %s, not %q", OnStartPurge, OnStartIngest, c.OnStart)
	}
	for u, login := range c.Users {
		if !ValidUser(u) {
			return fmt.Errorf("users: %q is not a valid user code", u)
		}
		if strings.TrimSpace(login) == "" || strings.ContainsAny(login, "<>$") {
			return fmt.Errorf("users: %q: %q is not a valid login", u, login)
		}
	}
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.ScanInterval, DefaultScanInterval)
	set(&c.RenameWait, DefaultRenameWait)
	set(&c.IncompleteTimeout, DefaultIncompleteTimeout)
	set(&c.LockRetry, DefaultLockRetry)
	set(&c.SummaryInterval, DefaultSummaryInterval)
	if c.RenameAttempts <= 0 {
		c.RenameAttempts = DefaultRenameAttempts
	}
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = DefaultMaxFileBytes
	}
	if c.LockName == "" {
		c.LockName = LockName(c.TxDir)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = relay.SystemClock{}
	}
	return nil
}

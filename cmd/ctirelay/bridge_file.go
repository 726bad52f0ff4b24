package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	spool "github.com/ctirelay/ctirelay/bridges/file"
	"github.com/ctirelay/ctirelay/relay"
)

// FileBridgeConfig is the SIGACTI file spool bridge (docs/file.md). Paths
// are the OS's own: D:\CTITX and \\server\share\CTITX on Windows.
type FileBridgeConfig struct {
	TxDir             string            `yaml:"tx_dir"` // requests from Protheus; "" disables the bridge
	RxDir             string            `yaml:"rx_dir"` // answers to Protheus
	ScanInterval      Duration          `yaml:"scan_interval"`
	RenameAttempts    int               `yaml:"rename_attempts"`
	RenameWait        Duration          `yaml:"rename_wait"`
	Charset           string            `yaml:"charset"` // utf-8 | windows-1252
	MaxFileBytes      int               `yaml:"max_file_bytes"`
	IncompleteTimeout Duration          `yaml:"incomplete_timeout"`
	OnStart           string            `yaml:"on_start"` // purge | ingest
	Users             map[string]string `yaml:"users"`    // user code → agent login
}

// validate checks the file bridge's keys, naming the one at fault; the
// directories themselves are checked when the bridge starts.
func (fc FileBridgeConfig) validate(bad func(key, format string, a ...any)) {
	switch {
	case fc.TxDir == "" && fc.RxDir == "":
		return
	case fc.TxDir == "":
		bad("bridges.file.tx_dir", "required with rx_dir")
	case fc.RxDir == "":
		bad("bridges.file.rx_dir", "required with tx_dir")
	case sameDir(fc.TxDir, fc.RxDir):
		bad("bridges.file.rx_dir", "must not be tx_dir (%s): the bridge would read its own answers", fc.TxDir)
	}
	for _, n := range []struct {
		key string
		v   int64
	}{
		{"bridges.file.scan_interval", int64(fc.ScanInterval)}, {"bridges.file.rename_attempts", int64(fc.RenameAttempts)},
		{"bridges.file.rename_wait", int64(fc.RenameWait)}, {"bridges.file.max_file_bytes", int64(fc.MaxFileBytes)},
		{"bridges.file.incomplete_timeout", int64(fc.IncompleteTimeout)},
	} {
		if n.v < 0 {
			bad(n.key, "must not be negative")
		}
	}
	if _, err := relay.ParseCharset(fc.Charset); err != nil {
		bad("bridges.file.charset", "%v", err)
	}
	switch fc.OnStart {
	case "", spool.OnStartPurge, spool.OnStartIngest:
	default:
		bad("bridges.file.on_start", "must be purge or ingest, not %q", fc.OnStart)
	}
	for u, login := range fc.Users {
		if !spool.ValidUser(u) {
			bad("bridges.file.users", "%q is not a user code (letters, digits, _ and -, at most %d, no device name)", u, spool.MaxUserCode)
		}
		if strings.TrimSpace(login) == "" || strings.ContainsAny(login, "<>$") {
			bad("bridges.file.users", "%s: %q is not an agent login", u, login)
		}
	}
}

func sameDir(a, b string) bool {
	return strings.EqualFold(filepath.Clean(a), filepath.Clean(b))
}

// newFileBridge builds the bridge; directories that are missing or not
// writable are an error naming the key and the path.
func newFileBridge(cfg Config, db relay.Store, feed *relay.Feed, sole bool, clock relay.Clock, log *slog.Logger) (*spool.Bridge, error) {
	fc := cfg.Bridges.File
	for _, d := range []struct{ key, path string }{{"bridges.file.tx_dir", fc.TxDir}, {"bridges.file.rx_dir", fc.RxDir}} {
		if err := spool.CheckDir(d.path); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", d.key, d.path, err)
		}
	}
	charset, err := relay.ParseCharset(fc.Charset)
	if err != nil {
		return nil, fmt.Errorf("bridges.file.charset: %w", err)
	}
	bc := spool.Config{
		TxDir: fc.TxDir, RxDir: fc.RxDir, ScanInterval: time.Duration(fc.ScanInterval),
		RenameAttempts: fc.RenameAttempts, RenameWait: time.Duration(fc.RenameWait), Charset: charset,
		MaxFileBytes: fc.MaxFileBytes, IncompleteTimeout: time.Duration(fc.IncompleteTimeout), OnStart: fc.OnStart,
		Users: fc.Users, Feed: feed, Store: db, Logger: log, Clock: clock,
	}
	// SQLite admits one relay; on PostgreSQL the relays sharing the
	// directories take turns through a database lock.
	if !sole {
		bc.Locker = db
		bc.LockName = spool.LockName(filepath.Clean(fc.TxDir))
	}
	b, err := spool.New(bc)
	if err != nil {
		return nil, fmt.Errorf("bridges.file: %w", err)
	}
	return b, nil
}

// fileBridgeState is the file bridge's line in the dashboard's health strip.
func fileBridgeState(s spool.Stats) string {
	state := "standby (another relay serves the spool)"
	if s.Serving {
		state = "serving"
	}
	waiting, stuck := 0, 0
	for _, u := range s.Users {
		waiting += u.Waiting
		if u.Stuck {
			stuck++
		}
	}
	return fmt.Sprintf("%s, %d files taken, %d answers written, %d refused, %d answers waiting for %d users (%d stuck), %d rename retries, %d times out of attempts",
		state, s.FilesTaken, s.AnswersWritten, s.FilesRefused, waiting, len(s.Users), stuck, s.RenameRetries, s.RenameFailures)
}

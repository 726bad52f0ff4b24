package sqlite

import (
	"context"

	"github.com/ctirelay/ctirelay/store"
)

// ReleaseMemory hands back the memory a load spike left in the store's
// connection: it closes the idle pooled connection (the next statement opens
// a fresh one). Under a spike the connection's page cache and its cached
// prepared statements (the multi-row ones in every size the spike used) grew
// to ~9 MB of modernc.org/libc's heap and stayed there for the life of the
// connection; closing it frees them to libc's allocator, which keeps up to
// 4 MiB per size class mapped for reuse and has no public way to trim it
// (a go:linkname into its private allocator was measured, 37 → 29 MB, and
// not kept: a memory-unsafe tie to one libc version). Meant for
// a quiet relay (ctirelay run calls it when idle after a spike): reopening
// costs a schema read, and the statements are prepared again on first use.
// A connection in use at the time is kept.
func (s *Store) ReleaseMemory() {
	s.db.SetMaxIdleConns(0) // closes the idle connection
	s.db.SetMaxIdleConns(1)
}

// SetNotifyTrigger implements store.DB: SQLite has no notify trigger (the
// store watches the file instead).
func (s *Store) SetNotifyTrigger(_ context.Context, on bool) error { return store.NoNotifyTrigger(on) }

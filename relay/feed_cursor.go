package relay

import (
	"context"
	"fmt"
	"sync"
)

// cursorBook keeps durable positions (relay_cursor rows) for the feed's
// users: moved in memory as entries are delivered, saved in batches (after
// each read round and at Stop), one transaction for all that moved.
type cursorBook struct {
	mu    sync.Mutex
	known map[string]int64 // read or moved, by name
	dirty map[string]int64 // moved, not yet saved
}

// Mark moves the named durable position forward to id (never back); it is
// saved with the next batch. Bridges keep their own positions with it (the
// socket bridge's per-login ones) as named subscriptions do.
func (f *Feed) Mark(name string, id int64) {
	b := &f.cursors
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur, ok := b.known[name]; ok && id <= cur {
		return
	}
	b.known[name] = id
	b.dirty[name] = id
}

// Saved is the named durable position: what Mark last moved it to, or
// what relay_cursor holds; found is false when there is none.
func (f *Feed) Saved(ctx context.Context, name string) (pos int64, found bool, err error) {
	return f.position(ctx, name)
}

func (f *Feed) position(ctx context.Context, name string) (int64, bool, error) {
	b := &f.cursors
	b.mu.Lock()
	if p, ok := b.known[name]; ok {
		b.mu.Unlock()
		return p, true, nil
	}
	b.mu.Unlock()
	c, found, err := f.cfg.Store.Cursor(ctx, name)
	if err != nil {
		return 0, false, fmt.Errorf("feed: read position %s: %w", name, err)
	}
	if !found {
		return 0, false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.known[name]; ok && p > c.Position {
		return p, true, nil
	}
	b.known[name] = c.Position
	return c.Position, true, nil
}

// saveCursors writes the positions that moved, in one transaction; on
// failure they are kept for the next try.
func (f *Feed) saveCursors(ctx context.Context) {
	b := &f.cursors
	b.mu.Lock()
	if len(b.dirty) == 0 {
		b.mu.Unlock()
		return
	}
	dirty := b.dirty
	b.dirty = map[string]int64{}
	b.mu.Unlock()
	cursors := make([]Cursor, 0, len(dirty))
	for name, pos := range dirty {
		cursors = append(cursors, Cursor{Name: name, Position: pos})
	}
	if err := f.cfg.Store.AdvanceCursors(ctx, cursors, f.cfg.Clock.Now()); err != nil {
		f.log.Warn("save positions", "err", err)
		b.mu.Lock()
		for name, pos := range dirty {
			if pos > b.dirty[name] {
				b.dirty[name] = pos
			}
		}
		b.mu.Unlock()
	}
}

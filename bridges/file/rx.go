package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ctirelay/ctirelay/relay"
)

// writers bounds the Rx files written at once (each is a create, an fsync
// and a rename).
const writers = 32

// deliver is the bridge's subscription: the replies to the spool's
// commands go to the user whose file sent them (the user code heads the
// reference), the events of a bound login to its user, in journal order.
// An entry already queued or written for that user (a restart, a
// subscription again after lagging) is skipped by id.
func (b *Bridge) deliver(d relay.Delivery) {
	e := d.Entry
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delivered = max(b.delivered, e.ID)
	var u *user
	switch e.Kind {
	case relay.KindReply:
		if e.Origin != relay.SourceFile {
			return
		}
		name, _, _ := strings.Cut(e.Ref, "/")
		if !ValidUser(name) {
			return
		}
		u = b.userLocked(name)
	case relay.KindEvent:
		k := b.ownerLocked(e.Agent)
		if k == "" {
			return
		}
		u = b.users[k]
	}
	if u == nil || e.ID <= u.queued {
		return
	}
	f, err := relay.Parse(e.Frame)
	if err != nil {
		b.log.Error("file bridge: unreadable entry in the journal", "journal_id", e.ID, "err", err)
		return
	}
	u.pending = append(u.pending, answer{id: e.ID, frame: f, at: b.cfg.Clock.Now()})
	u.queued = e.ID
	b.wake()
}

func (b *Bridge) wake() {
	select {
	case b.wakeWriter <- struct{}{}:
	default:
	}
}

// writeAnswers writes, for every user with answers waiting whose
// <user>.CTI is gone, everything waiting into a new <user>.CTI; then saves
// the users' positions (one transaction) and acknowledges the journal up
// to the first answer still waiting. once: at shutdown, no retry wait.
func (b *Bridge) writeAnswers(ctx context.Context, once bool) {
	now := b.cfg.Clock.Now()
	b.mu.Lock()
	var ready []*user
	for _, u := range b.users {
		if len(u.pending) > 0 && (once || !now.Before(u.nextTry)) {
			ready = append(ready, u)
		}
	}
	b.mu.Unlock()
	if len(ready) > 0 {
		var wg sync.WaitGroup
		sem := make(chan struct{}, writers)
		var mu sync.Mutex
		var cursors []relay.Cursor
		for _, u := range ready {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				if c, ok := b.writeUser(u); ok {
					mu.Lock()
					cursors = append(cursors, c)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(cursors) > 0 {
			// The renames reach the disk before the positions say so.
			syncDir(b.cfg.RxDir)
			if err := b.cfg.Store.AdvanceCursors(context.WithoutCancel(ctx), cursors, b.cfg.Clock.Now()); err != nil {
				b.log.Warn("file bridge: save the answers' positions (a crash now would write them again)", "err", err)
			}
		}
	}
	b.ack()
}

// writeUser writes u's waiting answers to <user>.CTI unless that file is
// still there. It returns u's position to save when journal entries were
// written.
func (b *Bridge) writeUser(u *user) (relay.Cursor, bool) {
	b.mu.Lock()
	name, batch := u.name, append([]answer(nil), u.pending...)
	b.mu.Unlock()
	final := filepath.Join(b.cfg.RxDir, name+Ext)
	var err error
	if st, lerr := os.Lstat(final); lerr == nil {
		if st.Mode().IsRegular() {
			return relay.Cursor{}, false // Protheus has not read the last one yet
		}
		// Protheus never reads, so never removes, a directory or a link.
		err = fmt.Errorf("%s is in the way and is not a file SIGACTI reads", final)
	}
	if err == nil {
		var text []byte
		for _, a := range batch {
			text = b.cfg.Charset.AppendFrame(text, a.frame)
			text = append(text, "\r\n"...)
		}
		err = b.writeFile(final, name, text)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case errors.Is(err, errExists):
		return relay.Cursor{}, false
	case err != nil:
		u.attempts++
		u.lastErr = err.Error()
		u.nextTry = b.cfg.Clock.Now().Add(b.cfg.RenameWait)
		b.stats.renameRetries.Add(1)
		if u.attempts >= b.cfg.RenameAttempts {
			b.stats.renameFailures.Add(1)
			u.stuckAt = b.cfg.Clock.Now()
			b.log.Error("file bridge: could not write the answer file; keeping the answers and trying again",
				"file", final, "attempts", u.attempts, "err", err)
			u.attempts = 0
		}
		return relay.Cursor{}, false
	}
	u.attempts, u.lastErr, u.wroteAt = 0, "", b.cfg.Clock.Now()
	u.pending = u.pending[len(batch):]
	if len(u.pending) == 0 {
		u.pending = nil
	}
	b.stats.answers.Add(1)
	b.stats.frames.Add(int64(len(batch)))
	var last int64
	for _, a := range batch {
		last = max(last, a.id)
	}
	if last == 0 {
		return relay.Cursor{}, false
	}
	u.written = max(u.written, last)
	return relay.Cursor{Name: rxPrefix + key(name), Position: u.written}, true
}

// writeFile writes text to a temporary file in Rx, fsyncs it and renames
// it to final without replacing it.
func (b *Bridge) writeFile(final, name string, text []byte) error {
	f, err := os.CreateTemp(b.cfg.RxDir, tempPrefix+name+"-*"+tempExt)
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = renameNoReplace(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// ack moves the durable position of the subscription to just before the
// first journal entry still waiting for any user.
func (b *Bridge) ack() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sub == nil {
		return
	}
	mark := b.delivered
	for _, u := range b.users {
		for _, a := range u.pending {
			if a.id > 0 {
				mark = min(mark, a.id-1)
				break
			}
		}
	}
	if mark > 0 {
		b.sub.Ack(mark)
	}
}

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

// syncers bounds the fsyncs of answer files under way at once: they are
// what an answer's time is spent on (milliseconds each on a real disk), and
// concurrent ones share the file system's journal commits. Creating and
// renaming, which lock Rx, are done one at a time: in parallel they only
// contend for that lock.
const syncers = 16

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
		b.log.Error("unreadable entry in the journal", "journal_id", e.ID, "err", err)
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
		// Temporary files written one at a time, synced in parallel,
		// renamed one at a time.
		var jobs []*rxJob
		for _, u := range ready {
			if j := b.prepare(u); j != nil {
				jobs = append(jobs, j)
			}
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, syncers)
		for _, j := range jobs {
			if j.f == nil {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				j.err = j.f.Sync()
			}()
		}
		wg.Wait()
		var cursors []relay.Cursor
		for _, j := range jobs {
			if c, ok := b.finish(j); ok {
				cursors = append(cursors, c)
			}
		}
		if len(cursors) > 0 {
			// The renames reach the disk before the positions say so.
			syncDir(b.cfg.RxDir)
			if err := b.cfg.Store.AdvanceCursors(context.WithoutCancel(ctx), cursors, b.cfg.Clock.Now()); err != nil {
				b.log.Warn("save the answers' positions (a crash now would write them again)", "err", err)
			}
		}
	}
	b.ack()
}

// rxJob is one user's answer file being written.
type rxJob struct {
	u     *user
	batch []answer
	final string
	f     *os.File // the temporary file, written, not yet synced
	err   error
}

// prepare writes u's waiting answers to a temporary file unless <user>.CTI
// is still there (nil: nothing to do now).
func (b *Bridge) prepare(u *user) *rxJob {
	b.mu.Lock()
	name, batch := u.name, append([]answer(nil), u.pending...)
	b.mu.Unlock()
	j := &rxJob{u: u, batch: batch, final: filepath.Join(b.cfg.RxDir, name+Ext)}
	if st, err := os.Lstat(j.final); err == nil {
		if st.Mode().IsRegular() {
			return nil // Protheus has not read the last one yet
		}
		// Protheus never reads, so never removes, a directory or a link.
		j.err = fmt.Errorf("%s is in the way and is not a file SIGACTI reads", j.final)
		return j
	}
	var text []byte
	for _, a := range batch {
		text = b.cfg.Charset.AppendFrame(text, a.frame)
		text = append(text, "\r\n"...)
	}
	f, err := os.CreateTemp(b.cfg.RxDir, tempPrefix+name+"-*"+tempExt)
	if err != nil {
		j.err = fmt.Errorf("create temporary file: %w", err)
		return j
	}
	j.f = f
	if _, err := f.Write(text); err != nil {
		j.err = err
	}
	return j
}

// finish closes and renames j's temporary file to <user>.CTI without
// replacing it, and records the outcome. It returns u's position to save
// when journal entries were written.
func (b *Bridge) finish(j *rxJob) (relay.Cursor, bool) {
	err := j.err
	if j.f != nil {
		if cerr := j.f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = renameNoReplace(j.f.Name(), j.final)
		}
		if err != nil {
			os.Remove(j.f.Name())
		}
	}
	u, batch := j.u, j.batch
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
			b.log.Error("could not write the answer file; keeping the answers and trying again",
				"file", j.final, "attempts", u.attempts, "err", err)
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
	return relay.Cursor{Name: rxPrefix + key(u.name), Position: u.written}, true
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

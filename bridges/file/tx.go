package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ctirelay/ctirelay/relay"
)

// request is one complete Tx file read in a scan: its messages, in order,
// each a frame to enqueue or a refusal of the bridge's own (which the store
// records in the same order, see relay.Inbound.Refusal).
type request struct {
	u        *user
	name     string // file name in Tx
	identity int64  // its modification time, ns: what file:tx:<user> records (0: none)
	msgs     []relay.Inbound
	frames   []relay.Frame // per message; nil for a refusal
	refused  int
}

// maxIgnored bounds the names remembered so they are logged only once.
const maxIgnored = 100_000

// scan takes every complete request file in Tx: its frames are enqueued
// (one Submit for the whole scan), the identity of each file recorded,
// and only then are the files removed.
func (b *Bridge) scan(ctx context.Context) {
	now := b.cfg.Clock.Now()
	if b.unchanged(now) {
		return
	}
	names, err := b.list()
	if err != nil {
		b.log.Warn("list tx_dir", "dir", b.cfg.TxDir, "err", err)
		return
	}
	b.quiet.names = len(names)
	var reqs []*request
	byKey := map[string]string{}
	for _, name := range names {
		userName, _ := userOf(name)
		k := key(userName)
		if first, dup := byKey[k]; dup {
			// Identity 0: file:tx:<user> keeps the identity of the file
			// taken under the other spelling.
			content, _ := readHead(filepath.Join(b.cfg.TxDir, name), b.cfg.MaxFileBytes)
			reqs = append(reqs, b.refuseFile(userName, name, content, 0, relay.CodeRejected,
				fmt.Sprintf("file name differs only in case from %s", first)))
			continue
		}
		byKey[k] = name
		if r := b.take(userName, name, now); r != nil {
			reqs = append(reqs, r)
		}
	}
	if len(reqs) > 0 {
		b.enqueue(ctx, reqs)
	}
	// Forget the incomplete files that went away (SIGACTI replaced or
	// removed them).
	for name := range b.incomplete {
		if _, found := slices.BinarySearch(names, name); !found {
			delete(b.incomplete, name)
		}
	}
}

// fullListEvery bounds how long a scan may trust Tx's modification time
// instead of listing it (see unchanged).
const fullListEvery = time.Second

// quietTx is what the last listing of Tx saw.
type quietTx struct {
	mtime  time.Time
	listed time.Time
	names  int // request files it found
}

// unchanged reports whether this scan may skip listing Tx: the last listing
// found no request file, none is waiting to be completed, Tx's modification
// time (changed by every file created, renamed in or removed) is the same,
// and the last listing is under fullListEvery old. A Tx of thousands of
// unrelated files then costs one stat per scan. The full listing every
// fullListEvery bounds the delay where a directory's time cannot be
// trusted (coarse FAT times, a network client's attribute cache).
func (b *Bridge) unchanged(now time.Time) bool {
	st, err := os.Stat(b.cfg.TxDir)
	if err != nil {
		return false
	}
	q := &b.quiet
	same := q.names == 0 && len(b.incomplete) == 0 && st.ModTime().Equal(q.mtime) && now.Sub(q.listed) < fullListEvery
	if !same {
		q.mtime, q.listed = st.ModTime(), now
	}
	return same
}

// list returns the names of Tx that are request files, sorted (so of two
// names differing only in case the same one is taken each time); other
// names are logged once and left alone.
func (b *Bridge) list() ([]string, error) {
	var names []string
	err := b.readNames(b.cfg.TxDir, func(n []byte) {
		// Filtered on the bytes, before any string or system call.
		if len(n) > len(Ext) && bytes.EqualFold(n[len(n)-len(Ext):], []byte(Ext)) && ValidUser(string(n[:len(n)-len(Ext)])) {
			names = append(names, string(n))
			return
		}
		if b.ignored[string(n)] || len(b.ignored) >= maxIgnored {
			return
		}
		name := string(n)
		b.ignored[name] = true
		b.stats.ignored.Add(1)
		b.log.Warn("ignoring a file that is not <user code>.CTI", "file", name, "dir", b.cfg.TxDir)
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// take reads one request file. It returns nil when the file is not
// complete yet or was enqueued before a restart.
func (b *Bridge) take(userName, name string, now time.Time) *request {
	path := filepath.Join(b.cfg.TxDir, name)
	f, st, err := openRequest(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			b.ignoreOnce(name, "cannot be opened as a plain file", err)
		}
		return nil
	}
	defer f.Close()
	identity := st.ModTime().UnixNano()
	b.mu.Lock()
	u := b.userLocked(userName)
	u.name = userName
	done := u.txLeft && u.txDone == identity && identity != 0
	b.mu.Unlock()
	if done {
		// Enqueued before a crash stopped the relay from removing it.
		f.Close()
		if b.remove(name) {
			b.mu.Lock()
			u.txLeft = false
			b.mu.Unlock()
		}
		b.log.Info("removed a request already enqueued before a restart", "file", name)
		return nil
	}
	if st.Size() > int64(b.cfg.MaxFileBytes) {
		head, _ := io.ReadAll(io.LimitReader(f, int64(b.cfg.MaxFileBytes)))
		return b.refuseFile(userName, name, head, identity, relay.CodeTooLarge,
			fmt.Sprintf("file of %d bytes is over max_file_bytes (%d)", st.Size(), b.cfg.MaxFileBytes))
	}
	content, err := io.ReadAll(io.LimitReader(f, int64(b.cfg.MaxFileBytes)+1))
	if err != nil {
		b.log.Warn("read request", "file", name, "err", err)
		return nil
	}
	if !complete(content) {
		w, seen := b.incomplete[name]
		if !seen || w.size != st.Size() || !w.mtime.Equal(st.ModTime()) {
			b.incomplete[name] = waiting{size: st.Size(), mtime: st.ModTime(), since: now}
			return nil
		}
		if now.Sub(w.since) < b.cfg.IncompleteTimeout {
			return nil
		}
		delete(b.incomplete, name)
		reason := "incomplete file: it does not end with a complete frame"
		if len(bytes.TrimSpace(content)) == 0 {
			reason = "empty file"
		}
		return b.refuseFile(userName, name, content, identity, relay.CodeMalformed, reason)
	}
	delete(b.incomplete, name)
	if i := bytes.IndexByte(content, 0); i >= 0 {
		// No charset has NUL in a frame, and PostgreSQL's text refuses it.
		return b.refuseFile(userName, name, content, identity, relay.CodeEncoding, fmt.Sprintf("NUL byte at byte %d", i))
	}
	if b.cfg.Charset.String() == relay.UTF8.String() && !utf8.Valid(content) {
		return b.refuseFile(userName, name, content, identity, relay.CodeEncoding,
			fmt.Sprintf("invalid utf-8 at byte %d (the bridge's charset is utf-8)", invalidAt(content)))
	}
	frames, err := b.decode(content)
	if err != nil {
		return b.refuseFile(userName, name, content, identity, relay.CodeMalformed, err.Error())
	}
	r := &request{u: u, name: name, identity: identity}
	id := strconv.FormatInt(identity, 36)
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, fr := range frames {
		owner := b.ownerLocked(fr.Login())
		static := u.static && !strings.EqualFold(strings.TrimSpace(fr.Login()), u.login)
		ref := userName + "/" + id + "#" + strconv.Itoa(i+1)
		if static || owner != "" && owner != key(userName) {
			// In the user's order: answered in the name of the login it is
			// bound to, if any, after the replies to its earlier commands.
			login := u.login
			if login == "" {
				login = strings.TrimSpace(fr.Login())
			}
			r.add(relay.Inbound{Source: relay.SourceFile, Ref: ref, Raw: fr.String(), Agent: login,
				Refusal: &relay.ProtocolError{Code: relay.CodeRejected,
					Message: fmt.Sprintf("login %s is bound to another user", strings.TrimSpace(fr.Login()))}}, nil)
			b.log.Warn("refused a frame for a login bound to another user", "ref", ref, "frame", fr.String())
			continue
		}
		r.add(relay.Inbound{Source: relay.SourceFile, Ref: ref, Raw: fr.String()}, fr)
	}
	return r
}

func (r *request) add(m relay.Inbound, f relay.Frame) {
	r.msgs = append(r.msgs, m)
	r.frames = append(r.frames, f)
	if m.Refusal != nil {
		r.refused++
	}
}

// ignoreOnce logs a request name left alone, once.
func (b *Bridge) ignoreOnce(name, why string, err error) {
	if b.ignored[name] || len(b.ignored) >= maxIgnored {
		return
	}
	b.ignored[name] = true
	b.stats.ignored.Add(1)
	b.log.Warn("ignoring a request that "+why, "file", name, "dir", b.cfg.TxDir, "err", err)
}

func readHead(path string, n int) ([]byte, error) {
	f, _, err := openRequest(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, int64(n)))
}

// errNotPlain: a request name that is a directory, a link, a FIFO...
var errNotPlain = errors.New("not a plain file")

// openRequest opens a Tx file for reading if it is a plain file: not a
// link (whose target, any file the relay can read, would end up in
// relay_dead), not a FIFO (whose open would hang the scan).
func openRequest(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openRequestFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = errNotPlain
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

// complete reports whether the file's text ends with a complete frame.
func complete(content []byte) bool {
	t := bytes.TrimRight(content, " \t\r\n")
	return bytes.HasSuffix(t, []byte(">$"))
}

func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// decode splits the file into frames, in the configured charset.
func (b *Bridge) decode(content []byte) ([]relay.Frame, error) {
	d := relay.NewDecoder(bytes.NewReader(content), b.cfg.MaxFileBytes)
	var out []relay.Frame
	for {
		f, err := d.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not Tactium frames: %w", err)
		}
		f, err = b.cfg.Charset.DecodeFrame(f)
		if err != nil {
			return nil, fmt.Errorf("not %s: %w", b.cfg.Charset, err)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("no frame in the file")
	}
	return out, nil
}

// enqueue submits every message of the scan in one Submit (the bridge's
// own refusals with them, so the store answers them in order), records
// the bindings their L ON / L OFF make and each file's identity (one
// transaction), then removes the files. A crash before the identities
// are saved makes the next start enqueue those files again; after, it
// only removes them.
func (b *Bridge) enqueue(ctx context.Context, reqs []*request) {
	var msgs []relay.Inbound
	for _, r := range reqs {
		msgs = append(msgs, r.msgs...)
	}
	ps, err := b.cfg.Feed.Submit(ctx, msgs)
	if err != nil {
		// Nothing was taken: the files stay for the next scan.
		b.log.Warn("enqueue requests; trying again at the next scan", "files", len(reqs), "err", err)
		return
	}
	var cursors []relay.Cursor
	b.mu.Lock()
	i := 0
	taken, refused := 0, 0
	for _, r := range reqs {
		for _, f := range r.frames {
			if p := ps[i]; p.Err == nil && f != nil {
				if c, ok := b.bindLocked(r.u, f, p.ID); ok {
					cursors = append(cursors, c)
				}
			}
			i++
		}
		refused += r.refused
		if r.refused < len(r.msgs) {
			taken++
		}
		if r.identity != 0 {
			r.u.txDone, r.u.txLeft = r.identity, true
			cursors = append(cursors, relay.Cursor{Name: txPrefix + key(r.u.name), Position: r.identity})
		}
	}
	b.mu.Unlock()
	if err := b.cfg.Store.AdvanceCursors(context.WithoutCancel(ctx), cursors, b.cfg.Clock.Now()); err != nil {
		b.log.Warn("record the files taken (a crash now would enqueue them again)", "err", err)
	}
	for _, r := range reqs {
		if b.remove(r.name) && r.identity != 0 {
			b.mu.Lock()
			if r.u.txDone == r.identity {
				r.u.txLeft = false
			}
			b.mu.Unlock()
		}
	}
	b.stats.taken.Add(int64(taken))
	b.stats.dead.Add(int64(refused))
}

// remove deletes a Tx file; false when it may still be there.
func (b *Bridge) remove(name string) bool {
	if err := os.Remove(filepath.Join(b.cfg.TxDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		b.log.Warn("remove request", "file", name, "err", err)
		return false
	}
	return true
}

// refuseFile is the request of a file the bridge refuses whole: its
// content, with the refusal, goes to the store in the scan's Submit, which
// dead-letters it and answers <login><ERR><code><message>$ (journaled, in
// the login's order) when a login can be read: the one the user is bound
// to, else the first field of the file's first frame.
func (b *Bridge) refuseFile(userName, name string, content []byte, identity int64, code, reason string) *request {
	b.mu.Lock()
	u := b.userLocked(userName)
	login := u.login
	b.mu.Unlock()
	if login == "" {
		login = firstLogin(content)
	}
	b.log.Warn("refused a request file", "file", name, "code", code, "reason", reason)
	r := &request{u: u, name: name, identity: identity}
	r.add(relay.Inbound{Source: relay.SourceFile, Ref: userName + "/" + strconv.FormatInt(identity, 36), Raw: b.text(content),
		Agent: login, Refusal: &relay.ProtocolError{Code: code, Message: reason}}, nil)
	return r
}

// text is a refused file's content as the database can keep it: decoded
// from the charset when it can be, invalid bytes and NUL replaced.
func (b *Bridge) text(content []byte) string {
	s := string(content)
	if b.cfg.Charset.String() != relay.UTF8.String() {
		if f, err := b.cfg.Charset.DecodeFrame(relay.Frame{s}); err == nil {
			s = f[0]
		}
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// firstLogin is the first field of the file's first frame, if it can be
// read.
func firstLogin(content []byte) string {
	s := string(bytes.TrimLeft(content, " \t\r\n"))
	if !strings.HasPrefix(s, "<") {
		return ""
	}
	end := strings.IndexByte(s, '>')
	if end < 0 {
		return ""
	}
	login := strings.TrimSpace(s[1:end])
	if login == "" || !utf8.ValidString(login) || strings.ContainsAny(login, "<$") {
		return ""
	}
	return login
}

// purge dead-letters every request left in Tx (reason "purged at start",
// one row per frame: the commands can be retried with `ctirelay dead
// retry`) and removes it: the SIGACTI document's rule at start.
func (b *Bridge) purge(ctx context.Context) {
	names, err := b.list()
	if err != nil {
		b.log.Warn("list tx_dir", "err", err)
		return
	}
	for _, name := range names {
		userName, _ := userOf(name)
		path := filepath.Join(b.cfg.TxDir, name)
		f, st, err := openRequest(path)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				b.ignoreOnce(name, "cannot be opened as a plain file", err)
			}
			continue
		}
		content, _ := io.ReadAll(io.LimitReader(f, int64(b.cfg.MaxFileBytes)))
		f.Close()
		ref := userName + "/" + strconv.FormatInt(st.ModTime().UnixNano(), 36)
		var letters []relay.DeadLetter
		if frames, err := b.decode(content); err == nil && st.Size() <= int64(b.cfg.MaxFileBytes) && bytes.IndexByte(content, 0) < 0 {
			for i, fr := range frames {
				d := relay.DeadLetter{Source: relay.SourceFile, Ref: ref + "#" + strconv.Itoa(i+1), Agent: strings.TrimSpace(fr.Login()),
					Frame: fr.String(), Reason: "purged at start", EnqueuedAt: st.ModTime()}
				if c, err := relay.ParseCommand(fr); err == nil {
					d.Verb = c.Verb
				}
				letters = append(letters, d)
			}
		} else {
			letters = append(letters, relay.DeadLetter{Source: relay.SourceFile, Ref: ref, Agent: firstLogin(content),
				Frame: b.text(content), Reason: "purged at start", EnqueuedAt: st.ModTime()})
		}
		if err := b.cfg.Store.Bury(ctx, letters, b.cfg.Clock.Now()); err != nil {
			b.log.Error("dead-letter a leftover request; keeping it", "file", name, "err", err)
			continue
		}
		b.remove(name)
		b.stats.purged.Add(1)
		b.log.Info("purged a request left from before the start (in relay_dead: ctirelay dead retry takes it)", "file", name, "frames", len(letters))
	}
}

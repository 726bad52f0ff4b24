package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// A spill file holds the switch's events a stopping relay could not make
// durable (the database refused or did not answer before the shutdown
// deadline): written at the end of Stop, published by the next Start before
// it takes any new work, then removed. One file per engine run, named so
// that a directory listing sorts them by the time they were written.
// Named after the run's lease owner (node#incarnation).
const (
	spillPrefix  = "ctirelay-spill-"
	spillSuffix  = ".json"
	spillVersion = 1
	// SpillKeyPrefix starts the relay_cursor name under which a spill file's
	// publish is recorded (PublishOnce): a spill is published once, however
	// often a start is cut off between publishing it and removing the file.
	SpillKeyPrefix = "spill:"
)

// spillFile is the file's content. Events are frames as T_TTO holds them.
type spillFile struct {
	Version   int       `json:"version"`
	ID        string    `json:"id"` // the run that wrote it: its lease owner, node#incarnation
	Node      string    `json:"node"`
	WrittenAt time.Time `json:"written_at"`
	Reason    string    `json:"reason"`
	Events    []string  `json:"events"`
}

// spilled is a spill file read back.
type spilled struct {
	path   string
	id     string
	events []Frame
}

// spillName is the file name for a run's spill, safe whatever the node name.
func spillName(id string, at time.Time) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, id)
	return spillPrefix + at.UTC().Format("20060102T150405.000000Z") + "-" + safe + spillSuffix
}

// writeSpill writes events to dir as one new file: a temporary file, synced,
// renamed into place and the directory synced, so the file is either whole
// or absent after a crash. It returns the file's path once it is in place,
// with the error of syncing the directory, if any.
func writeSpill(dir, id, node, reason string, events []Frame, now time.Time) (string, error) {
	f := spillFile{Version: spillVersion, ID: id, Node: node, WrittenAt: now.UTC(), Reason: reason, Events: make([]string, len(events))}
	for i, e := range events {
		f.Events[i] = e.String()
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+spillPrefix+"*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, spillName(id, now))
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	return path, syncDir(dir)
}

// syncDir makes a rename or removal in dir durable. Windows cannot sync a
// directory; its renames are durable enough once they return.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && !errors.Is(err, os.ErrPermission) {
		return err
	}
	return nil
}

// readSpills returns the spill files in dir, oldest first. A file that cannot
// be read is reported in bad and left where it is.
func readSpills(dir string) (files []spilled, bad map[string]error, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, spillPrefix) && strings.HasSuffix(n, spillSuffix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		path := filepath.Join(dir, n)
		s, err := readSpill(path)
		if err != nil {
			if bad == nil {
				bad = map[string]error{}
			}
			bad[path] = err
			continue
		}
		files = append(files, s)
	}
	return files, bad, nil
}

func readSpill(path string) (spilled, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return spilled{}, err
	}
	var f spillFile
	if err := json.Unmarshal(data, &f); err != nil {
		return spilled{}, err
	}
	if f.Version != spillVersion || f.ID == "" {
		return spilled{}, fmt.Errorf("not a version %d spill file with an id", spillVersion)
	}
	s := spilled{path: path, id: f.ID, events: make([]Frame, 0, len(f.Events))}
	for i, raw := range f.Events {
		fr, err := Parse(raw)
		if err != nil {
			return spilled{}, fmt.Errorf("event %d: %w", i+1, err)
		}
		s.events = append(s.events, fr)
	}
	return s, nil
}

// publishSpills publishes what earlier runs spilled in SpillDir, oldest
// first, each once (PublishOnce under its run's id), and removes the files.
// A store failure is returned: the relay does not start ahead of them.
func (e *Engine) publishSpills(ctx context.Context) error {
	if e.cfg.SpillDir == "" {
		return nil
	}
	files, bad, err := readSpills(e.cfg.SpillDir)
	if err != nil {
		return fmt.Errorf("read spill files: %w", err)
	}
	for path, err := range bad {
		// Left in place for an operator: it was not written by a relay, or
		// was damaged after it was.
		e.log.Error("spill file unreadable: left in place, not published", "file", path, "err", err)
	}
	for _, f := range files {
		published, err := e.cfg.Store.PublishOnce(ctx, SpillKeyPrefix+f.id, f.events, e.cfg.Clock.Now())
		if err != nil {
			return fmt.Errorf("publish spill file %s: %w", f.path, err)
		}
		if published {
			e.committed()
			e.stats.events.Add(int64(len(f.events)))
			e.log.Warn("published the events an earlier run spilled at shutdown", "file", f.path, "events", len(f.events), "spill", f.id)
		} else {
			e.log.Info("spill file already published: removing it", "file", f.path, "spill", f.id)
		}
		if err := os.Remove(f.path); err != nil {
			return fmt.Errorf("remove published spill file: %w", err)
		}
		if err := syncDir(e.cfg.SpillDir); err != nil {
			e.log.Warn("sync spill directory", "dir", e.cfg.SpillDir, "err", err)
		}
	}
	return nil
}

// writeSpilled writes the events the writer could not publish before the
// shutdown deadline to a spill file, or, with no SpillDir or a failed
// write, logs each as lost.
func (e *Engine) writeSpilled(events []Frame, reason string) {
	if len(events) == 0 {
		return
	}
	if e.cfg.SpillDir != "" {
		path, err := writeSpill(e.cfg.SpillDir, e.owner, e.cfg.Node, reason, events, e.cfg.Clock.Now())
		if path != "" && err != nil {
			e.log.Warn("sync spill directory", "dir", e.cfg.SpillDir, "err", err)
		}
		if path != "" {
			e.stats.spilled.Add(int64(len(events)))
			e.log.Warn("events not written to the database: spilled, to be published at the next start",
				"file", path, "events", len(events), "reason", reason)
			return
		}
		e.log.Error("write spill file", "dir", e.cfg.SpillDir, "err", err)
	}
	e.stats.lost.Add(int64(len(events)))
	for _, f := range events {
		e.log.Error("event lost: not written to the database before shutdown and not spilled", "frame", f.String(), "reason", reason)
	}
}

package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeServer is the lock table of a database server: which connection
// holds which lock, and the connections whose session has died.
type fakeServer struct {
	mu       sync.Mutex
	holder   map[string]*sql.Conn
	dead     map[*sql.Conn]bool
	released []string
}

func (f *fakeServer) lock(name string) store.SessionLock {
	return store.SessionLock{
		Take: func(_ context.Context, c *sql.Conn) (bool, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if h, ok := f.holder[name]; ok && !f.dead[h] {
				return false, nil
			}
			f.holder[name] = c
			return true, nil
		},
		Check: func(_ context.Context, c *sql.Conn) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.dead[c] {
				return errors.New("connection reset")
			}
			return nil
		},
		Release: func(_ context.Context, c *sql.Conn) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.holder[name] == c {
				delete(f.holder, name)
				f.released = append(f.released, name)
			}
			return nil
		},
	}
}

func (f *fakeServer) kill(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead[f.holder[name]] = true
}

// A session lock is held once; its release (twice is harmless) frees it
// and leaves it not lost; a connection found dead loses it, and another
// takes it; Close loses the rest and refuses new ones.
func TestSessionLocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "locks.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := &fakeServer{holder: map[string]*sql.Conn{}, dead: map[*sql.Conn]bool{}}
	var ls store.SessionLocks
	ls.Every = time.Millisecond

	held, lost, release, err := ls.TryLock(ctx, db, "monitor", f.lock("monitor"))
	if err != nil || !held {
		t.Fatalf("TryLock = %v, %v", held, err)
	}
	if held, _, _, err := ls.TryLock(ctx, db, "monitor", f.lock("monitor")); err != nil || held {
		t.Fatalf("second TryLock = %v, %v; want not held", held, err)
	}
	release()
	release()
	select {
	case <-lost:
		t.Fatal("a released lock reads as lost")
	default:
	}
	if len(f.released) != 1 {
		t.Errorf("released %v, want monitor once", f.released)
	}

	held, lost, release, err = ls.TryLock(ctx, db, "monitor", f.lock("monitor"))
	if err != nil || !held {
		t.Fatalf("TryLock after release = %v, %v", held, err)
	}
	f.kill("monitor")
	<-lost // the watcher finds the dead connection
	release()
	held, _, releaseAgain, err := ls.TryLock(ctx, db, "monitor", f.lock("monitor"))
	if err != nil || !held {
		t.Fatalf("TryLock after the holder died = %v, %v", held, err)
	}
	defer releaseAgain()

	_, lostJobs, releaseJobs, err := ls.TryLock(ctx, db, "jobs", f.lock("jobs"))
	if err != nil {
		t.Fatal(err)
	}
	ls.Close()
	ls.Close()
	<-lostJobs
	releaseJobs()
	if _, _, _, err := ls.TryLock(ctx, db, "other", f.lock("other")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("TryLock after Close: %v", err)
	}

	boom := errors.New("boom")
	var fresh store.SessionLocks
	_, _, _, err = fresh.TryLock(ctx, db, "x", store.SessionLock{Take: func(context.Context, *sql.Conn) (bool, error) { return false, boom }})
	if !errors.Is(err, boom) {
		t.Errorf("a failed Take: %v", err)
	}
}

package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
)

// Named locks: a SQLite file has a single relay (Config.Exclusive refuses a
// second process), so a lock only has to keep the stores of one process on
// one file apart. Keyed by the file's absolute path and the lock's name.
var singletons = struct {
	mu   sync.Mutex
	held map[[2]string]*Store
}{held: map[[2]string]*Store{}}

// TryLock implements relay.Store (Locker): granted unless another store of this
// process on the same file holds it. A lock is lost when its store closes.
func (s *Store) TryLock(ctx context.Context, name string) (bool, <-chan struct{}, func(), error) {
	if err := ctx.Err(); err != nil {
		return false, nil, nil, err
	}
	abs, err := filepath.Abs(s.path)
	if err != nil {
		return false, nil, nil, err
	}
	key := [2]string{abs, name}
	singletons.mu.Lock()
	defer singletons.mu.Unlock()
	if s.lost == nil {
		return false, nil, nil, errors.New("take lock: store closed")
	}
	if _, taken := singletons.held[key]; taken {
		return false, nil, nil, nil
	}
	singletons.held[key] = s
	var once sync.Once
	release := func() {
		once.Do(func() {
			singletons.mu.Lock()
			defer singletons.mu.Unlock()
			if singletons.held[key] == s {
				delete(singletons.held, key)
			}
		})
	}
	return true, s.lost, release, nil
}

// dropLocks loses every lock the store holds, when it closes.
func (s *Store) dropLocks() {
	singletons.mu.Lock()
	defer singletons.mu.Unlock()
	for k, holder := range singletons.held {
		if holder == s {
			delete(singletons.held, k)
		}
	}
	if s.lost != nil {
		close(s.lost)
		s.lost = nil
	}
}

package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lib/pq"
)

// Notification channels. ctirelay_tti comes from the opt-in trigger on T_TTI
// (an ERP inserted rows); ctirelay_inbox from relays that added or finished
// inbox commands; ctirelay_journal from settles of other sources' commands
// and from published events. Payloads are empty: a notification only means "look now".
const (
	chanTTI   = "ctirelay_tti"
	chanInbox = "ctirelay_inbox"
	// chanJournal: replies no T_TTO carries and events were journaled,
	// for the journal feeds of every relay.
	chanJournal = "ctirelay_journal"
)

// Reconnection back-off of the listening connection.
const (
	listenMinReconnect = 100 * time.Millisecond
	listenMaxReconnect = 10 * time.Second
)

// listener turns notifications on both channels into wake-ups: channels of
// capacity one, so any number of notifications between two looks coalesce.
// out fires for tti and inbox, each also for its own; journal for every
// channel (admitted commands are journal entries too), for the journal's
// readers alone, so they take no wake-up from the engine.
type listener struct {
	l                        *pq.Listener
	out, tti, inbox, journal chan struct{}
	done                     chan struct{}
	wg                       sync.WaitGroup
	once                     sync.Once
}

func listen(ctx context.Context, dsn string, log *slog.Logger) (*listener, error) {
	w := &listener{out: make(chan struct{}, 1), tti: make(chan struct{}, 1), inbox: make(chan struct{}, 1),
		journal: make(chan struct{}, 1), done: make(chan struct{})}
	w.l = pq.NewListener(dsn, listenMinReconnect, listenMaxReconnect, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
			log.Warn("postgres wake-up listener", "event", ev.String(), "err", err)
		case pq.ListenerEventReconnected:
			log.Info("postgres wake-up listener reconnected")
		}
	})
	// Listen blocks until the server acknowledges; bound it by ctx (closing
	// the listener makes a pending Listen return).
	errc := make(chan error, 1)
	go func() {
		for _, ch := range []string{chanTTI, chanInbox, chanJournal} {
			if err := w.l.Listen(ch); err != nil {
				errc <- fmt.Errorf("listen %s: %w", ch, err)
				return
			}
		}
		errc <- nil
	}()
	select {
	case err := <-errc:
		if err != nil {
			_ = w.l.Close()
			return nil, fail("postgres store", err)
		}
	case <-ctx.Done():
		_ = w.l.Close()
		<-errc
		return nil, fmt.Errorf("postgres store: listen: %w", ctx.Err())
	}
	w.wg.Go(w.run)
	return w, nil
}

func (w *listener) run() {
	for {
		select {
		case n, ok := <-w.l.Notify:
			if !ok {
				return
			}
			// A nil notification follows a reconnection: notifications may
			// have been missed meanwhile, so wake up for a full look too.
			wake(w.journal)
			if n != nil && n.Channel == chanJournal {
				continue
			}
			wake(w.out)
			if n == nil || n.Channel == chanTTI {
				wake(w.tti)
			}
			if n == nil || n.Channel == chanInbox {
				wake(w.inbox)
			}
		case <-w.done:
			return
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (w *listener) close() {
	w.once.Do(func() {
		close(w.done)
		_ = w.l.Close()
		w.wg.Wait()
	})
}

// Wakeups implements relay.Queue: intake fires for rows in T_TTI (with the
// notify trigger on), claim for inbox commands added or unblocked by any
// relay on this database. The engine still polls.
func (s *Store) Wakeups() (intake, claim <-chan struct{}) { return s.wake.tti, s.wake.inbox }

// WakesAtOnce implements relay.Queue. False: the notify trigger on T_TTI
// is optional and a LISTEN connection can drop, so the configured polls
// stay (their cost on PostgreSQL is one cheap statement each).
func (s *Store) WakesAtOnce() bool { return false }

// AnyWakeup fires for either kind of work, or after the listener reconnected
// (notifications may have been missed): for tools that do not care which.
func (s *Store) AnyWakeup() <-chan struct{} { return s.wake.out }

// JournalWakeups fires when a relay on this database (this one included)
// wrote to the journal what a feed's transports may wait for: commands
// admitted, replies to commands from other sources than T_TTI, events. A
// relay.Feed reads then; it still polls as the fallback.
func (s *Store) JournalWakeups() <-chan struct{} { return s.wake.journal }

// SetNotifyTrigger installs (on) or removes (off) the statement trigger on
// T_TTI that notifies relays as soon as an ERP inserts rows. Both are
// idempotent. It changes the ERP's table (a trigger, no columns), so it is
// opt-in configuration, not part of the migrations.
func (s *Store) SetNotifyTrigger(ctx context.Context, on bool) error {
	if err := s.check(); err != nil {
		return err
	}
	name, op := qTriggerOff, "remove notify trigger"
	if on {
		name, op = qTriggerOn, "install notify trigger"
	}
	if _, err := s.db.ExecContext(ctx, s.q.text[name]); err != nil {
		return fail(op, err)
	}
	return nil
}

// ReleaseMemory implements store.DB: the server holds the memory, and the
// pool's few connections keep nothing worth closing.
func (s *Store) ReleaseMemory() {}

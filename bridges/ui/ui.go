package ui

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

//go:embed assets
var assets embed.FS

// Store is what the dashboard reads and, for the admin actions, changes:
// the store's operator views (relay.Operators has them all).
type Store interface {
	Status(ctx context.Context, now time.Time) (relay.QueueStatus, error)
	Agents(ctx context.Context, now time.Time) ([]relay.AgentStatus, error)
	DeadLetters(ctx context.Context, afterID int64, limit int) ([]relay.DeadLetter, error)
	RetryDead(ctx context.Context, ids []int64, now time.Time) (int, error)
	DropDead(ctx context.Context, ids []int64) (int, error)
	Backlog(ctx context.Context, unread int64) (relay.Backlog, error)
}

// JobRunLister lists scheduled jobs' runs (relay.JobRuns has it).
type JobRunLister interface {
	JobRuns(ctx context.Context, job string, limit int) ([]relay.JobRun, error)
}

// NodeLister lists the running relays (relay.Nodes has it).
type NodeLister interface {
	Nodes(ctx context.Context) ([]relay.Node, error)
}

// Feed is the journal's live tail (*relay.Feed).
type Feed interface {
	Subscribe(name string, filter relay.Filter, fn func(relay.Delivery), opts ...relay.SubscribeOption) (*relay.Subscription, error)
	// Position is the last journal id the feed has read.
	Position() int64
}

// History is how far behind the feed's position the agents' states, the
// chart and the first view's journal start (the journal ids, one read at
// Start): a restarted relay shows what its agents were doing.
const History = 2000

// Route groups of the HTTP bridge's tokens the dashboard asks for.
const (
	GroupEvents = "events" // read-only views
	GroupAdmin  = "admin"  // actions on dead letters
)

// Authorizer checks a bearer token as the HTTP bridge's routes do
// (*httpbridge.Bridge has it): the token's name and 200, 401 for no valid
// token, 403 for one not allowed the group. Open reports a bridge without
// tokens (it then runs on loopback): everyone may look and act, as on the
// bridge's own routes. A nil Authorizer is open too.
type Authorizer interface {
	Authorize(r *http.Request, group string) (name string, status int)
	Open() bool
}

// Probe adds one item to the health strip: a bridge's clients, a webhook
// endpoint. State (or Check) is called once per interval.
type Probe struct {
	Name  string
	State func() string
	// Check, when set, is used instead of State and also tells whether the
	// item is in trouble (shown in red): a disabled webhook.
	Check func() (state string, bad bool)
}

// Defaults of Config.
const (
	DefaultInterval   = 2 * time.Second
	DefaultDeadLimit  = 200
	DefaultSessionTTL = 12 * time.Hour
	DefaultQueryLimit = 5 * time.Second
)

// Config wires a Handler. Store, Nodes and Feed are required.
type Config struct {
	Store  Store
	Nodes  NodeLister
	Feed   Feed
	Auth   Authorizer // nil: open
	Clock  relay.Clock
	Logger *slog.Logger
	// Interval between two summaries (DefaultInterval).
	Interval time.Duration
	// DeadLimit bounds the dead letters listed (DefaultDeadLimit); actions
	// on "every letter matching" reach beyond it.
	DeadLimit int
	// SessionTTL is how long a sign-in lasts (DefaultSessionTTL).
	SessionTTL time.Duration
	// QueryTimeout bounds one summary's reads (DefaultQueryLimit).
	QueryTimeout time.Duration
	Probes       []Probe
	Version      string
	// Driver, when set, is the switch driver's link shown in the health
	// strip (connected, reconnecting, last error). Switch names the
	// driver there ("tactium"); with Switch and no Driver the strip says
	// the driver does not report its link.
	Driver relay.HealthReporter
	Switch string
	// Jobs are the scheduled jobs the jobs panel lists, with their last
	// run from Runs (both optional).
	Jobs []relay.ScheduledJob
	Runs JobRunLister
}

// Handler serves the dashboard under /ui/. Start runs the summary loop and
// the feed subscription that follows the agents; Stop ends them and every
// open stream.
type Handler struct {
	cfg  Config
	log  *slog.Logger
	mux  *http.ServeMux
	life relay.StartStop

	kick     chan struct{}
	sessions sessions
	tracker  *tracker
	arrivals arrivals // when T_TTI's rows were first seen

	mu      sync.Mutex
	current *snapshot     // the last summary, rendered
	changed chan struct{} // closed when current changes
	stopped chan struct{} // closed by Stop: streams end
}

// New validates cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Nodes == nil || cfg.Feed == nil {
		return nil, errors.New("ui needs a store, a node list and a feed")
	}
	if cfg.Clock == nil {
		cfg.Clock = relay.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.DeadLimit <= 0 {
		cfg.DeadLimit = DefaultDeadLimit
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = DefaultQueryLimit
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, kick: make(chan struct{}, 1),
		changed: make(chan struct{}), stopped: make(chan struct{}),
		tracker: newTracker(cfg.Clock)}
	h.sessions.init(cfg.Clock, cfg.SessionTTL)
	h.current = &snapshot{json: []byte("{}")}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /ui/{$}", h.page)
	m.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	m.HandleFunc("POST /ui/login", h.login)
	m.HandleFunc("POST /ui/logout", h.logout)
	m.HandleFunc("GET /ui/stream", h.stream)
	m.HandleFunc("POST /ui/api/dead", h.dead)
	h.mux = m
	return h, nil
}

// open: no sign-in, and every viewer may act.
func (h *Handler) open() bool { return h.cfg.Auth == nil || h.cfg.Auth.Open() }

// ServeHTTP implements http.Handler; mount it at /ui/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Nothing is loaded from elsewhere, and nothing inline runs.
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	h.mux.ServeHTTP(w, r)
}

// Start subscribes to the feed and starts the summary loop.
func (h *Handler) Start(ctx context.Context) error { return h.life.Start(ctx, h.start) }

// Stop ends the loop, the subscription and the open streams. Safe twice.
func (h *Handler) Stop() { h.life.Stop() }

func (h *Handler) start(context.Context) (func(), error) {
	ctx, cancel := context.WithCancel(context.Background())
	var opts []relay.SubscribeOption
	if pos := h.cfg.Feed.Position(); pos > History {
		opts = append(opts, relay.After(pos-History))
	} else {
		opts = append(opts, relay.After(0))
	}
	sub, err := h.cfg.Feed.Subscribe("", relay.Filter{}, h.tracker.observe, opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	h.refresh(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { h.follow(ctx, sub) })
	wg.Go(func() { h.loop(ctx) })
	return func() {
		cancel()
		close(h.stopped)
		wg.Wait()
	}, nil
}

// follow keeps the tracker's subscription alive: one that lagged resumes
// where it was, as nothing is lost that way.
func (h *Handler) follow(ctx context.Context, sub *relay.Subscription) {
	for {
		select {
		case <-ctx.Done():
			sub.Close()
			<-sub.Done()
			return
		case <-sub.Done():
		}
		if !errors.Is(sub.Err(), relay.ErrLagged) {
			if !errors.Is(sub.Err(), relay.ErrStopped) { // the feed stops before the bridges
				h.log.Warn("feed subscription ended", "err", sub.Err())
			}
			return
		}
		next, err := h.cfg.Feed.Subscribe("", relay.Filter{}, h.tracker.observe, relay.After(sub.Position()))
		if err != nil {
			h.log.Warn("subscribe again", "err", err)
			return
		}
		sub = next
	}
}

func (h *Handler) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.cfg.Clock.After(h.cfg.Interval):
		case <-h.kick:
		}
		h.refresh(ctx)
	}
}

// Refresh asks for a summary now (after an action), without waiting for it.
func (h *Handler) Refresh() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// refresh computes, renders and publishes one summary.
func (h *Handler) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.QueryTimeout)
	defer cancel()
	s := h.compute(ctx)
	snap, err := h.render(s)
	if err != nil {
		h.log.Error("render summary", "err", err)
		return
	}
	h.mu.Lock()
	h.current = snap
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// latest returns the current summary and a channel closed when it changes.
func (h *Handler) latest() (*snapshot, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.current, h.changed
}

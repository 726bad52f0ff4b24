package httpbridge

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ctirelay/ctirelay/relay"
)

// scrapeTimeout bounds the database read of one scrape.
const scrapeTimeout = 2 * time.Second

// Metrics are the relay's Prometheus metrics. None has a per-agent label:
// the DBA views and `status --agents` are for that.
type Metrics struct {
	requests   *prometheus.CounterVec
	commands   *prometheus.CounterVec
	dispatch   *prometheus.HistogramVec
	reply      *prometheus.HistogramVec
	dbErrors   prometheus.Counter
	streams    prometheus.Gauge
	streamsCut prometheus.Counter

	hookDeliveries *prometheus.CounterVec
	hookFailures   *prometheus.CounterVec

	// Clients per bridge, read at scrape time (cmd/ctirelay adds the
	// socket bridge's).
	mu      sync.Mutex
	clients map[string]func() int
}

// NewMetrics builds the metrics, not yet registered.
func NewMetrics() *Metrics {
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	return &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ctirelay_http_requests_total",
			Help: "HTTP bridge requests by route pattern and status code."}, []string{"route", "code"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ctirelay_commands_total",
			Help: "Commands answered (or refused at admission), by source, verb and outcome (ok, err, refused)."}, []string{"source", "verb", "outcome"}),
		dispatch: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ctirelay_dispatch_latency_seconds",
			Help: "Time from a command's enqueue to its reply, as the engine recorded it.", Buckets: buckets}, []string{"source"}),
		reply: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ctirelay_http_reply_latency_seconds",
			Help: "POST /v1/commands?wait=: time from the request to the reply.", Buckets: buckets}, []string{"verb"}),
		dbErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "ctirelay_database_errors_total",
			Help: "Database reads of the HTTP bridge and of metric scrapes that failed."}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ctirelay_http_sse_clients",
			Help: "Server-Sent Events clients connected."}),
		streamsCut: prometheus.NewCounter(prometheus.CounterOpts{Name: "ctirelay_http_sse_lagged_total",
			Help: "SSE clients disconnected for being too slow."}),
		hookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ctirelay_webhook_deliveries_total",
			Help: "Webhook deliveries answered 2xx."}, []string{"webhook"}),
		hookFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ctirelay_webhook_failures_total",
			Help: "Webhook delivery attempts that failed."}, []string{"webhook"}),
		clients: map[string]func() int{},
	}
}

// BridgeClients reports a bridge's connected clients at scrape time.
func (m *Metrics) BridgeClients(bridge string, n func() int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clients[bridge] = n
}

func (m *Metrics) register(reg *prometheus.Registry, b *Bridge) error {
	m.BridgeClients("http", func() int { return int(b.clients.Load()) })
	for _, c := range []prometheus.Collector{m.requests, m.commands, m.dispatch, m.reply, m.dbErrors, m.streams,
		m.streamsCut, m.hookDeliveries, m.hookFailures, &collector{m: m, b: b}} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// observeReply records a command answered through POST ?wait=.
func (m *Metrics) observeReply(raw string, _ []relay.JournalEntry, took time.Duration) {
	m.reply.WithLabelValues(verbOf(raw)).Observe(took.Seconds())
}

// observe counts commands and their outcomes from the journal, whatever
// their source: the verb of each command is kept until its last reply.
type observer struct {
	m     *Metrics
	verbs map[int64]string
}

const maxTracked = 100000

func (o *observer) entry(e relay.JournalEntry) {
	switch e.Kind {
	case relay.KindCommand:
		if len(o.verbs) >= maxTracked {
			clear(o.verbs) // a burst without replies: lose verbs, not memory
		}
		o.verbs[e.InboxID] = verbOf(e.Frame)
	case relay.KindRejected:
		o.m.commands.WithLabelValues(source(e.Origin), verbOf(e.Frame), "refused").Inc()
	case relay.KindReply:
		if e.InboxID == 0 {
			return
		}
		verb, ok := o.verbs[e.InboxID]
		if !ok {
			verb = "unknown"
		}
		delete(o.verbs, e.InboxID)
		outcome := e.Outcome
		if outcome != relay.OutcomeOK && outcome != relay.OutcomeErr {
			outcome = "other"
		}
		o.m.commands.WithLabelValues(source(e.Origin), verb, outcome).Inc()
		if e.Latency > 0 {
			o.m.dispatch.WithLabelValues(source(e.Origin)).Observe(e.Latency.Seconds())
		}
	}
}

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// source bounds the label to the known sources.
func source(s string) string {
	switch s = strings.ToLower(s); s {
	case relay.SourceERP, relay.SourceSocket, relay.SourceFile, relay.SourceHTTP, relay.SourceCLI:
		return s
	}
	return "other"
}

// collector reads the queue from the DBA views at scrape time, bounded by
// scrapeTimeout, and the state of the bridges and webhooks.
type collector struct {
	m *Metrics
	b *Bridge
}

var (
	descDepth     = prometheus.NewDesc("ctirelay_queue_depth", "Messages in each queue (tti: waiting in T_TTI; inbox, ready, in_flight, retrying, dead, outbox).", []string{"queue"}, nil)
	descOldest    = prometheus.NewDesc("ctirelay_queue_oldest_age_seconds", "Age of the oldest unfinished command in the inbox.", []string{"queue"}, nil)
	descDone1m    = prometheus.NewDesc("ctirelay_replies_last_minute", "Replies written in the last minute.", nil, nil)
	descScrapeErr = prometheus.NewDesc("ctirelay_queue_scrape_ok", "1 when the last scrape read the queue views.", nil, nil)
	descClients   = prometheus.NewDesc("ctirelay_bridge_clients", "Connected clients per bridge.", []string{"bridge"}, nil)
	descDriver    = prometheus.NewDesc("ctirelay_driver_connected", "1 when the switch driver is connected.", nil, nil)
	descStandby   = prometheus.NewDesc("ctirelay_driver_standby", "1 when the switch driver waits while another relay holds the switch.", nil, nil)
	descReconn    = prometheus.NewDesc("ctirelay_driver_reconnects_total", "Switch driver links re-established after a loss.", nil, nil)
	descRetries   = prometheus.NewDesc("ctirelay_retries_total", "Commands put back for a retry after a transient failure (this relay's engine).", nil, nil)
	descDead      = prometheus.NewDesc("ctirelay_dead_letters_total", "Commands dead-lettered and answered ERR (this relay's engine).", nil, nil)
	descInDoubt   = prometheus.NewDesc("ctirelay_commands_in_doubt_total", "Commands answered ERR IN_DOUBT: the switch may have acted, so they were not sent again (this relay's engine).", nil, nil)
	descHookLag   = prometheus.NewDesc("ctirelay_webhook_lag_entries", "Journal ids between the feed's position and the webhook's.", []string{"webhook"}, nil)
	descHookOff   = prometheus.NewDesc("ctirelay_webhook_disabled", "1 when the webhook endpoint is disabled.", []string{"webhook"}, nil)
	descHookFail  = prometheus.NewDesc("ctirelay_webhook_consecutive_failures", "Failed attempts since the webhook's last success.", []string{"webhook"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDepth, descOldest, descDone1m, descScrapeErr, descClients, descDriver, descStandby, descReconn, descRetries, descDead, descInDoubt, descHookLag, descHookOff, descHookFail} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	st, err := c.b.cfg.Store.Status(ctx, c.b.cfg.Clock.Now())
	if err != nil {
		c.m.dbErrors.Inc()
		ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.GaugeValue, 0)
	} else {
		ch <- prometheus.MustNewConstMetric(descScrapeErr, prometheus.GaugeValue, 1)
		for q, v := range map[string]int64{"tti": st.Pending, "inbox": st.Inbox, "ready": st.Ready, "in_flight": st.InFlight,
			"retrying": st.Retrying, "dead": st.Dead, "outbox": st.Outbox} {
			ch <- prometheus.MustNewConstMetric(descDepth, prometheus.GaugeValue, float64(v), q)
		}
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, st.OldestAge.Seconds(), "inbox")
		ch <- prometheus.MustNewConstMetric(descDone1m, prometheus.GaugeValue, float64(st.Done1m))
	}
	c.m.mu.Lock()
	clients := make(map[string]func() int, len(c.m.clients))
	for k, v := range c.m.clients {
		clients[k] = v
	}
	c.m.mu.Unlock()
	for name, n := range clients {
		ch <- prometheus.MustNewConstMetric(descClients, prometheus.GaugeValue, float64(n()), name)
	}
	if d := c.b.cfg.Driver; d != nil {
		h := d.Health()
		ch <- prometheus.MustNewConstMetric(descDriver, prometheus.GaugeValue, one(h.Connected))
		ch <- prometheus.MustNewConstMetric(descStandby, prometheus.GaugeValue, one(h.Standby))
		ch <- prometheus.MustNewConstMetric(descReconn, prometheus.CounterValue, float64(h.Reconnects))
	}
	if stats := c.b.cfg.Engine; stats != nil {
		st := stats()
		ch <- prometheus.MustNewConstMetric(descRetries, prometheus.CounterValue, float64(st.Retried))
		ch <- prometheus.MustNewConstMetric(descDead, prometheus.CounterValue, float64(st.Dead))
		ch <- prometheus.MustNewConstMetric(descInDoubt, prometheus.CounterValue, float64(st.InDoubt))
	}
	for _, s := range c.b.webhookStates() {
		off := 0.0
		if s.Disabled {
			off = 1
		}
		ch <- prometheus.MustNewConstMetric(descHookLag, prometheus.GaugeValue, float64(s.Lag), s.Name)
		ch <- prometheus.MustNewConstMetric(descHookOff, prometheus.GaugeValue, off, s.Name)
		ch <- prometheus.MustNewConstMetric(descHookFail, prometheus.GaugeValue, float64(s.Failures), s.Name)
	}
}

package sqlserver

import (
	"embed"
	"fmt"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/ctirelay/ctirelay/store"
)

//go:embed sql/*.sql sql/fragment/*.sql
var sqlFiles embed.FS

// query names a statement: the file sql/<name>.sql (which may include
// sql/fragment/*.sql, see store.LoadSQL).
type query string

// Statements sent as they are, with @p1 … parameters in argument order.
const (
	qAnyTTI      query = "any_tti"
	qInboxDepth  query = "inbox_depth"
	qTakeTTI     query = "take_tti"
	qClaim       query = "claim"
	qReclaim     query = "reclaim"
	qReclaimDead query = "reclaim_dead"
	qExtend      query = "extend"
	qRelease     query = "release"
	qJournal     query = "journal"
	qJournalHead query = "journal_head"
	qDeadLetters query = "dead_letters"
	qStatus      query = "status"
	qAgents      query = "agents"
	qCursor      query = "cursor"
	qMarkCursor  query = "mark_cursor"
	qNodeBeat    query = "node_heartbeat"
	qNodeLeave   query = "node_leave"
	qNodes       query = "nodes"
	qERPColumns  query = "erp_columns"

	qRunBegin      query = "job_run_begin"
	qRunTouch      query = "job_run_touch"
	qRunFinish     query = "job_run_finish"
	qJobRuns       query = "job_runs"
	qLastSlot      query = "job_last_slot"
	qPruneJournal  query = "prune_journal"
	qPruneDead     query = "prune_dead"
	qPruneJobRuns  query = "prune_job_runs"
	qPruneNodes    query = "prune_nodes"
	qJournalPeriod query = "journal_between"
)

// Multi-row statements: the row tuple between the "--rows" and "--end"
// lines of the file is repeated once per row (store.Batch), and the '?'
// placeholders are numbered @p1 … in text order.
const (
	bBusy           query = "busy"
	bInbox          query = "insert_inbox"
	bDead           query = "insert_dead"
	bJournal        query = "insert_journal"
	bTTO            query = "insert_tto"
	bTTOExplicit    query = "insert_tto_explicit"
	bRemove         query = "remove"
	bRetry          query = "retry"
	bLeaseNext      query = "lease_next"
	bRetryDead      query = "retry_dead"
	bDropDead       query = "drop_dead"
	bAbandon        query = "abandon"
	bAdvanceCursors query = "advance_cursors"
	bJournalSince   query = "journal_since"
	bInFlight       query = "in_flight"
)

var batchNames = []query{bBusy, bInbox, bDead, bJournal, bTTO, bTTOExplicit, bRemove, bRetry, bLeaseNext,
	bRetryDead, bDropDead, bAbandon, bAdvanceCursors, bJournalSince, bInFlight}

// maxParams is SQL Server's bound on the parameters of one request (2,100),
// less a margin for sp_executesql's own.
const maxParams = 2000

// maxLockRows bounds the rows one statement takes, changes or locks in one
// table: SQL Server escalates to a table lock at about 5,000 locks per
// statement, which would stop every other relay and the ERP.
const maxLockRows = 1000

// batch is a multi-row statement with its texts for each row count, rebound
// once and kept (store.Each uses a handful of sizes).
type batch struct {
	b       *store.Batch
	maxRows int

	mu   sync.Mutex
	text map[int]string
}

// SQL is the statement for n rows with @pN placeholders.
func (b *batch) SQL(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.text[n]; ok {
		return s
	}
	s := sqlx.Rebind(sqlx.AT, b.b.SQL(n))
	b.text[n] = s
	return s
}

// rowsFor is the largest power of two of rows, at most maxLockRows, whose
// statement stays within maxParams.
func rowsFor(fixed, params int) int {
	n := 1
	for n*2 <= maxLockRows && fixed+n*2*params <= maxParams {
		n *= 2
	}
	return n
}

// queries holds every statement rendered with the configured names.
type queries struct {
	text    map[query]string
	batches map[query]*batch
}

func loadQueries(names map[string]string) (*queries, error) {
	text, err := store.LoadSQL(store.Sub(sqlFiles, "sql"), names)
	if err != nil {
		return nil, err
	}
	q := &queries{text: map[query]string{}, batches: map[query]*batch{}}
	for name, t := range text {
		q.text[query(name)] = t
	}
	for _, name := range batchNames {
		t, ok := q.text[name]
		if !ok {
			return nil, fmt.Errorf("embedded sql: no sql/%s.sql", name)
		}
		b, err := splitBatch(string(name), t)
		if err != nil {
			return nil, err
		}
		q.batches[name] = &batch{b: b, maxRows: rowsFor(b.Fixed, b.Params), text: map[int]string{}}
		delete(q.text, name)
	}
	return q, nil
}

// splitBatch cuts a rendered multi-row statement at its "--rows" and
// "--end" lines into a store.Batch.
func splitBatch(name, text string) (*store.Batch, error) {
	head, rest, ok := strings.Cut(text, "--rows\n")
	tuple, tail, ok2 := strings.Cut(rest, "\n--end\n")
	if !ok || !ok2 || strings.Contains(tail, "--rows") {
		return nil, fmt.Errorf("embedded sql: %s.sql has no single --rows … --end tuple", name)
	}
	b := &store.Batch{Head: head, Tuple: tuple, Tail: tail, Sep: ", ",
		Params: strings.Count(tuple, "?"), Fixed: strings.Count(head, "?")}
	if b.Params == 0 || strings.Contains(tail, "?") {
		return nil, fmt.Errorf("embedded sql: %s.sql: parameters belong in the head (fixed) or the tuple", name)
	}
	return b, nil
}

func (q *queries) sql(name query) string {
	t, ok := q.text[name]
	if !ok {
		panic("sqlserver: no statement sql/" + string(name) + ".sql")
	}
	return t
}

func (q *queries) batch(name query) *batch {
	b, ok := q.batches[name]
	if !ok {
		panic("sqlserver: no batch statement sql/" + string(name) + ".sql")
	}
	return b
}

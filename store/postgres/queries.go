package postgres

import (
	"context"
	"embed"
	"strconv"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/ctirelay/ctirelay/store"
)

//go:embed sql/*.sql sql/fragment/*.sql
var sqlFiles embed.FS

// Advisory lock keys (ASCII "ctirintk", "ctiroutp"); the migrator uses
// "ctirmigr", migrate.go. They are per database, shared by every relay on it.
const (
	// intakeLockKey serialises writers of new inbox rows.
	intakeLockKey int64 = 0x63746972696e746b
	// outputLockKey serialises writers of T_TTO and the journal.
	outputLockKey int64 = 0x637469726f757470
)

// query names a statement: the file sql/<name>.sql (which may include
// sql/fragment/*.sql, see store.LoadSQL).
type query string

const (
	qTakeTTI     query = "take_tti"
	qAdmit       query = "admit"
	qClaim       query = "claim"
	qReclaim     query = "reclaim"
	qReclaimDead query = "reclaim_dead"
	qExtend      query = "extend"
	qRelease     query = "release"
	qAbandon     query = "abandon"
	qSettle      query = "settle"
	qPublish     query = "publish"
	qOutput      query = "output"
	qRefused     query = "refused_output"
	qJournal     query = "journal"
	qJournalHead query = "journal_head"
	qDeadLetters query = "dead_letters"
	qRetryDead   query = "retry_dead"
	qDropDead    query = "drop_dead"
	qSetClock    query = "set_clock"
	qStatus      query = "status"
	qAgents      query = "agents"
	qTriggerOn   query = "notify_trigger_on"
	qTriggerOff  query = "notify_trigger_off"
	qNodeBeat    query = "node_heartbeat"
	qNodeLeave   query = "node_leave"
	qNodes       query = "nodes"
	qERPColumns  query = "erp_columns"

	qRunAbandon    query = "job_run_abandon"
	qRunInsert     query = "job_run_insert"
	qRunSlotTaken  query = "job_run_slot_taken"
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

// queries holds every statement rendered with the configured names, and
// prepares each on first use: the tables may not exist when the store opens
// (before Migrate), and database/sql re-prepares on new connections itself.
type queries struct {
	text map[query]string

	mu       sync.Mutex
	prepared map[query]*sqlx.Stmt
}

// sqlNames extends the configured table names with what only this dialect's
// statements use.
func sqlNames(o store.Options) map[string]string {
	names := o.Names()
	names["intake_lock"] = strconv.FormatInt(intakeLockKey, 10)
	names["output_lock"] = strconv.FormatInt(outputLockKey, 10)
	fn := o.Prefix + "notify_tti"
	if o.Schema != "" {
		fn = o.Schema + "." + fn
	}
	names["notify_tti"] = fn
	return names
}

func loadQueries(names map[string]string) (*queries, error) {
	text, err := store.LoadSQL(store.Sub(sqlFiles, "sql"), names)
	if err != nil {
		return nil, err
	}
	q := &queries{text: make(map[query]string, len(text)), prepared: map[query]*sqlx.Stmt{}}
	for name, t := range text {
		q.text[query(name)] = t
	}
	return q, nil
}

// stmt returns the prepared statement for name, preparing it once.
func (q *queries) stmt(ctx context.Context, db *sqlx.DB, name query) (*sqlx.Stmt, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if s, ok := q.prepared[name]; ok {
		return s, nil
	}
	text, ok := q.text[name]
	if !ok {
		panic("postgres: no statement sql/" + string(name) + ".sql")
	}
	s, err := db.PreparexContext(ctx, text)
	if err != nil {
		return nil, err
	}
	q.prepared[name] = s
	return s, nil
}

// close releases every prepared statement.
func (q *queries) close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	var first error
	for name, s := range q.prepared {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
		delete(q.prepared, name)
	}
	return first
}

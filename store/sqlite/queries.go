package sqlite

import (
	"github.com/ctirelay/ctirelay/schema"
	"github.com/ctirelay/ctirelay/store"
)

// Every SQL statement of the SQLite dialect. Table names are {{placeholders}}
// rendered once at Open; multi-row statements are split into head, one row
// tuple and tail (see store.Batch). Times are INTEGER microseconds since the epoch.
//
// A LIMIT is written `? + 0`, never a bare `?`: SQLite's planner reads a
// bare bound LIMIT and marks the statement to be prepared again whenever
// that parameter is bound, which the driver does on every execution. Each
// claim, intake and journal read was parsed and planned anew (a claim on an
// empty inbox: about 700 µs instead of 30; two thirds of an idle relay's
// CPU). TestNoStatementRepreparesOnItsLimit keeps it so.

const (
	sqlAnyTTI = `SELECT 1 FROM {{tti}} LIMIT 1`

	// Changes when another connection has committed since this one last
	// asked (the wake-up watcher).
	sqlDataVersion = `PRAGMA data_version`

	// The inbox's depth, counted no further than the bound asked about.
	sqlInboxDepth = `SELECT count(*) FROM (SELECT 1 FROM {{inbox}} LIMIT ? + 0)`

	// Take the oldest rows of the ERP's table. RETURNING order is not
	// defined, so the caller sorts by IS_TTI.
	sqlTakeTTI = `DELETE FROM {{tti}} WHERE IS_TTI IN (SELECT IS_TTI FROM {{tti}} ORDER BY IS_TTI LIMIT ? + 0) RETURNING IS_TTI, DS_TTI`

	// Bring T_TTI's numbering back to its rows once it has gone
	// past renumberAbove, on the table of step 1 only (the relay never touches
	// the numbering of an ERP's own table): SQLite keeps a table's definition as
	// "CREATE TABLE " and the statement from the name on. Args: T_TTI's name,
	// step 1's definition.
	sqlRenumberTTI = `UPDATE sqlite_sequence SET seq = (SELECT coalesce(max(IS_TTI), 0) FROM {{tti}})
 WHERE name = ?1 AND seq > 4611686018427387903
   AND (SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1) = ?2
RETURNING seq`

	// The head of each agent's queue: its oldest command, in any state. One
	// index seek per agent with commands, whatever the backlog. Only heads
	// are ever leased, so leases are looked for among them too.
	sqlHeads = `WITH RECURSIVE agents(agent) AS (
    SELECT min(agent) FROM {{inbox}}
    UNION ALL
    SELECT (SELECT min(i.agent) FROM {{inbox}} AS i WHERE i.agent > agents.agent) FROM agents WHERE agents.agent IS NOT NULL
), heads(id) AS (
    SELECT (SELECT min(i.id) FROM {{inbox}} AS i WHERE i.agent = agents.agent) FROM agents WHERE agents.agent IS NOT NULL
)
`

	// Lease the heads of the agents' queues that are ready and due.
	sqlClaim = sqlHeads + `UPDATE {{inbox}} SET state = 'running', lease_owner = ?, lease_expires = ?, attempts = attempts + 1
 WHERE id IN (
   SELECT i.id FROM heads AS h JOIN {{inbox}} AS i ON i.id = h.id
    WHERE i.state = 'ready' AND (i.not_before IS NULL OR i.not_before <= ?)
    ORDER BY i.id LIMIT ? + 0)
RETURNING id, source, source_ref, agent, verb, frame, attempts, enqueued_at`

	sqlReclaim = sqlHeads + `UPDATE {{inbox}} SET lease_owner = ?, lease_expires = ?, attempts = attempts + 1
 WHERE id IN (
   SELECT i.id FROM heads AS h JOIN {{inbox}} AS i ON i.id = h.id
    WHERE i.state = 'running' AND i.lease_expires < ?
    ORDER BY i.id LIMIT ? + 0)
RETURNING id, source, source_ref, agent, verb, frame, attempts, enqueued_at`

	// Lease the running heads whose owner is known dead, whatever their
	// expiry: every owner but this one (?4), or this node's other
	// incarnations: its bare name, or NAME#… (the range from 'NAME#' to
	// 'NAME$', '$' following '#', under the BINARY collation).
	sqlReclaimDead = sqlHeads + `UPDATE {{inbox}} SET lease_owner = ?1, lease_expires = ?2, attempts = attempts + 1
 WHERE id IN (
   SELECT i.id FROM heads AS h JOIN {{inbox}} AS i ON i.id = h.id
    WHERE i.state = 'running' AND i.lease_owner <> ?1
      AND (?3 OR i.lease_owner = ?4 OR (i.lease_owner >= ?4 || '#' AND i.lease_owner < ?4 || '$'))
    ORDER BY i.id LIMIT ?5 + 0)
RETURNING id, source, source_ref, agent, verb, frame, attempts, enqueued_at`

	sqlExtend = sqlHeads + `UPDATE {{inbox}} SET lease_expires = ?
 WHERE id IN (SELECT id FROM heads) AND state = 'running' AND lease_owner = ?`

	sqlRelease = sqlHeads + `UPDATE {{inbox}} SET state = 'ready', lease_owner = NULL, lease_expires = NULL, attempts = max(attempts - 1, 0)
 WHERE id IN (SELECT id FROM heads) AND state = 'running' AND lease_owner = ?`

	// Mark commands whose requester is gone: only those still waiting (not
	// held by a relay) and not refused already. Args: the refused verb, the
	// ids as a JSON array.
	sqlAbandon = `UPDATE {{inbox}} SET verb = ?1
 WHERE id IN (SELECT value FROM json_each(?2)) AND state = 'ready' AND substr(verb, 1, 1) <> '!'`

	sqlJournal = `SELECT id, at, direction, kind, agent, frame, origin, coalesce(source_ref, ''), coalesce(inbox_id, 0),
       coalesce(outcome, ''), coalesce(latency_us, 0), coalesce(error, '')
  FROM {{journal}} WHERE id > ? ORDER BY id LIMIT ? + 0`

	sqlJournalSince = `SELECT id, at, direction, kind, agent, frame, origin, coalesce(source_ref, ''), coalesce(inbox_id, 0),
       coalesce(outcome, ''), coalesce(latency_us, 0), coalesce(error, '')
  FROM {{journal}} WHERE id > ? AND kind IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ? + 0`

	sqlJournalHead = `SELECT coalesce(max(id), 0) FROM {{journal}}`

	// The error of an output journaled before the ERP's table refused it.
	sqlJournalError = `UPDATE {{journal}} SET error = ?
 WHERE at = ? AND kind = ? AND frame = ? AND source_ref IS ? AND error IS NULL`

	sqlCursor = `SELECT name, position, updated_at FROM {{cursor}} WHERE name = ?`

	sqlCursorsWithPrefix = `SELECT name, position, updated_at FROM {{cursor}} WHERE substr(name, 1, ?) = ? ORDER BY name`

	sqlBury = `INSERT INTO {{dead}} (inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at)
VALUES (NULL, ?, ?, ?, nullif(?, ''), ?, nullif(?, ''), ?, 0, ?, ?)`

	// A position only moves forward; an equal one refreshes updated_at.
	sqlAdvanceCursor = `INSERT INTO {{cursor}} AS c (name, position, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
 WHERE excluded.position >= c.position`

	// A cursor created once: a second insert of the name changes nothing.
	sqlMarkCursor = `INSERT INTO {{cursor}} (name, position, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`

	sqlDeadLetters = `SELECT id, coalesce(inbox_id, 0), source, source_ref, agent, coalesce(verb, ''), frame, coalesce(code, ''), reason, attempts, enqueued_at, died_at
  FROM {{dead}} WHERE id > ? ORDER BY id LIMIT ? + 0`

	sqlStatus = `SELECT pending, inbox, ready, in_flight, retrying, dead, outbox, oldest_age_s, done_1m FROM {{queue_status}}`

	sqlAgents = `SELECT agent, pending, in_flight, last_activity FROM {{agent_status}} ORDER BY agent`

	// A relay registers itself and refreshes its row with the same statement.
	sqlNodeHeartbeat = `INSERT INTO {{node}} (id, host, pid, version, started_at, heartbeat_at, holds) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
    started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, holds = excluded.holds`

	sqlNodeLeave = `DELETE FROM {{node}} WHERE id = ?`

	sqlNodes = `SELECT id, host, pid, version, started_at, heartbeat_at, holds FROM {{node}} ORDER BY id`
)

// maxRows bounds the rows of one multi-row statement. With at most 11
// parameters a row this stays far below SQLite's 32766 bound parameters,
// while one statement still carries a whole typical batch.
const maxRows = 512

// Multi-row statements.
var (
	batchInbox = store.Batch{
		Head:  `INSERT INTO {{inbox}} (source, source_ref, agent, verb, frame, state, attempts, enqueued_at) VALUES `,
		Tuple: `(?, ?, ?, ?, ?, 'ready', 0, ?)`, Params: 6,
		Tail: ` RETURNING id`,
	}
	batchDead = store.Batch{
		Head:  `INSERT INTO {{dead}} (inbox_id, source, source_ref, agent, verb, frame, code, reason, attempts, enqueued_at, died_at) VALUES `,
		Tuple: `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, Params: 11,
	}
	batchJournal = store.Batch{
		Head:  `INSERT INTO {{journal}} (at, direction, kind, agent, frame, origin, source_ref, inbox_id, outcome, latency_us, error) VALUES `,
		Tuple: `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, Params: 11,
	}
	batchTTO = store.Batch{
		Head:  `INSERT INTO {{tto}} (DS_TTO) VALUES `,
		Tuple: `(?)`, Params: 1,
	}
	// Settle's fence: a row is removed only if it is still running under
	// the job's owner and attempt.
	batchRemove = store.Batch{
		Head:  `DELETE FROM {{inbox}} WHERE state = 'running' AND (id, lease_owner, attempts) IN (VALUES `,
		Tuple: `(?, ?, ?)`, Params: 3,
		Tail: `) RETURNING id, lease_owner, attempts`,
	}
	// The next command of each agent whose command a settle removed (agent
	// and removed id per tuple) is now its Head: those ready and due.
	batchNext = store.Batch{
		Head:  `WITH p(now) AS (SELECT ?), f(agent, id) AS (VALUES `,
		Tuple: `(?, ?)`, Params: 2, Fixed: 1,
		Tail: `)
SELECT i.id FROM f JOIN {{inbox}} AS i
    ON i.id = (SELECT min(n.id) FROM {{inbox}} AS n WHERE n.agent = f.agent AND n.id > f.id)
 WHERE i.state = 'ready' AND (i.not_before IS NULL OR i.not_before <= (SELECT now FROM p))`,
	}
	// Lease the next command of each agent whose command a settle removed
	// (agent and removed id per tuple), when it is ready and due: one
	// statement when every one of them may be leased (owner, lease expiry
	// and now first).
	batchLeaseNext = store.Batch{
		Head:  `WITH p(owner, until, now) AS (SELECT ?, ?, ?), f(agent, id) AS (VALUES `,
		Tuple: `(?, ?)`, Params: 2, Fixed: 3,
		Tail: `)
UPDATE {{inbox}} SET state = 'running', lease_owner = (SELECT owner FROM p), lease_expires = (SELECT until FROM p),
       attempts = attempts + 1
 WHERE id IN (SELECT (SELECT min(n.id) FROM {{inbox}} AS n WHERE n.agent = f.agent AND n.id > f.id) FROM f)
   AND state = 'ready' AND (not_before IS NULL OR not_before <= (SELECT now FROM p))
RETURNING id, source, source_ref, agent, verb, frame, attempts, enqueued_at`,
	}
	// The oldest command of each agent given: an agent's command just
	// admitted is at the head of its queue when it is that oldest one.
	batchHeadOf = store.Batch{
		Head:  `WITH f(agent) AS (VALUES `,
		Tuple: `(?)`, Params: 1,
		Tail: `) SELECT f.agent, (SELECT min(i.id) FROM {{inbox}} AS i WHERE i.agent = f.agent) FROM f`,
	}
	// Lease the commands given by id (owner and lease expiry first).
	batchLease = store.Batch{
		Head:  `UPDATE {{inbox}} SET state = 'running', lease_owner = ?, lease_expires = ?, attempts = attempts + 1 WHERE state = 'ready' AND id IN (`,
		Tuple: `?`, Params: 1, Sep: `, `, Fixed: 2,
		Tail: `) RETURNING id, source, source_ref, agent, verb, frame, attempts, enqueued_at`,
	}
	batchRetry = store.Batch{
		Head: `UPDATE {{inbox}} AS i SET state = 'ready', not_before = v.column4, last_error = v.column5,
       lease_owner = NULL, lease_expires = NULL
  FROM (VALUES `,
		Tuple: `(?, ?, ?, ?, ?)`, Params: 5,
		Tail: `) AS v
 WHERE i.id = v.column1 AND i.lease_owner = v.column2 AND i.attempts = v.column3 AND i.state = 'running'
RETURNING id`,
	}
	// Dead letters with a verb go back to the tail of the inbox, oldest first.
	batchRetryDead = store.Batch{
		Head: `INSERT INTO {{inbox}} (source, source_ref, agent, verb, frame, state, attempts, enqueued_at)
SELECT source, source_ref, agent, verb, frame, 'ready', 0, ? FROM {{dead}}
 WHERE verb IS NOT NULL AND id IN (`,
		Tuple: `?`, Params: 1, Sep: `, `,
		Tail: `) ORDER BY id`, Fixed: 1,
	}
	batchDeleteRetried = store.Batch{
		Head:  `DELETE FROM {{dead}} WHERE verb IS NOT NULL AND id IN (`,
		Tuple: `?`, Params: 1, Sep: `, `,
		Tail: `)`,
	}
	batchDropDead = store.Batch{
		Head:  `DELETE FROM {{dead}} WHERE id IN (`,
		Tuple: `?`, Params: 1, Sep: `, `,
		Tail: `)`,
	}
)

// queries are the statements rendered with one store's table names.
type queries struct {
	anyTTI, inboxDepth, takeTTI, claim, reclaim, extend, release string
	reclaimDead, abandon                                         string
	renumberTTI                                                  string
	journal, deadLetters, status, agents                         string
	journalSince, journalHead, cursor, advanceCursor             string
	journalError, cursorsWithPrefix, bury                        string
	markCursor                                                   string
	nodeHeartbeat, nodeLeave, nodes                              string

	inbox, dead, journalRows, tto            *store.Batch
	remove, retry, next, lease, headOf       *store.Batch
	leaseNext                                *store.Batch
	retryDead, deleteRetried, dropDeadLetter *store.Batch
}

func renderQueries(names map[string]string) *queries {
	r := func(s string) string { return schema.Render(s, names) }
	b := func(t store.Batch) *store.Batch { return t.Rendered(names) }
	return &queries{
		anyTTI: r(sqlAnyTTI), inboxDepth: r(sqlInboxDepth), takeTTI: r(sqlTakeTTI), claim: r(sqlClaim), reclaim: r(sqlReclaim), reclaimDead: r(sqlReclaimDead), extend: r(sqlExtend), release: r(sqlRelease),
		abandon:     r(sqlAbandon),
		renumberTTI: r(sqlRenumberTTI),
		journal:     r(sqlJournal), deadLetters: r(sqlDeadLetters), status: r(sqlStatus), agents: r(sqlAgents),
		journalSince: r(sqlJournalSince), journalHead: r(sqlJournalHead), journalError: r(sqlJournalError), cursor: r(sqlCursor), advanceCursor: r(sqlAdvanceCursor),
		markCursor:        r(sqlMarkCursor),
		cursorsWithPrefix: r(sqlCursorsWithPrefix), bury: r(sqlBury),
		nodeHeartbeat: r(sqlNodeHeartbeat), nodeLeave: r(sqlNodeLeave), nodes: r(sqlNodes),
		inbox: b(batchInbox), dead: b(batchDead), journalRows: b(batchJournal), tto: b(batchTTO),
		remove: b(batchRemove), retry: b(batchRetry), next: b(batchNext), lease: b(batchLease), headOf: b(batchHeadOf),
		leaseNext: b(batchLeaseNext),
		retryDead: b(batchRetryDead), deleteRetried: b(batchDeleteRetried), dropDeadLetter: b(batchDropDead),
	}
}

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite"
)

// peerSchema holds River's tables and the pgmq-style queue, dropped and
// made afresh for every run (as ctirelay bench makes a schema of its own).
const peerSchema = "peerbench"

// benchArgs is the job: the command's frame, as ctirelay carries one, and
// the moment it was inserted, for the latencies.
type benchArgs struct {
	Frame string `json:"frame"`
	At    int64  `json:"at"` // unix nanoseconds at insert
}

func (benchArgs) Kind() string { return "bench" }

// benchWorker does nothing, as ctirelay's simulated switch does next to
// nothing: the bench measures the queue.
type benchWorker struct {
	river.WorkerDefaults[benchArgs]
	started atomic.Int64
	onStart func(at int64)
}

func (w *benchWorker) Work(_ context.Context, job *river.Job[benchArgs]) error {
	if w.onStart != nil {
		w.onStart(job.Args.At)
	}
	w.started.Add(1)
	return nil
}

// riverConfig is River tuned for latency as `river bench` is: the shortest
// fetch cooldown, a short poll beside LISTEN/NOTIFY.
func riverConfig(workers int, w *benchWorker, schema string) *river.Config {
	ws := river.NewWorkers()
	river.AddWorker(ws, w)
	return &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: workers}},
		Workers:           ws,
		FetchCooldown:     time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Schema:            schema,
		Logger:            nil,
	}
}

func worker(name string, args []string) error {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	dsn := fs.String("pg", "", "PostgreSQL DSN")
	path := fs.String("path", "", "SQLite file")
	n := fs.Int("n", 20000, "jobs")
	workers := fs.Int("workers", 1000, "River MaxWorkers")
	rate := fs.Float64("rate", 1000, "offered rate")
	dur := fs.Duration("duration", 10*time.Second, "offer for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	var r result
	var err error
	switch name {
	case "river-burn":
		r, err = riverBurn(ctx, *dsn, *n, *workers)
	case "river-rate":
		r, err = riverRate(ctx, *dsn, *rate, *dur, *workers)
	case "pgmq-burn":
		r, err = pgmqBurn(ctx, *dsn, *n)
	case "river-sqlite-burn":
		r, err = riverSQLiteBurn(ctx, *path, *n, *workers)
	default:
		return errUsage
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// freshSchema drops and recreates the peers' schema and migrates River in it.
func freshSchema(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+peerSchema+" CASCADE; CREATE SCHEMA "+peerSchema); err != nil {
		pool.Close()
		return nil, err
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: peerSchema})
	if err == nil {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("river migrate: %w", err)
	}
	return pool, nil
}

func frame(i int) string { return fmt.Sprintf("<bench%05d><P><ON><%d>$", i%1000, i) }

// riverBurn preloads n jobs, then times a client working them all, from
// Start to the last completion committed.
func riverBurn(ctx context.Context, dsn string, n, workers int) (result, error) {
	pool, err := freshSchema(ctx, dsn)
	if err != nil {
		return result{}, err
	}
	defer pool.Close()
	w := &benchWorker{}
	client, err := river.NewClient(riverpgxv5.New(pool), riverConfig(workers, w, peerSchema))
	if err != nil {
		return result{}, err
	}
	if err := preload(ctx, n, func(p []river.InsertManyParams) error { _, err := client.InsertManyFast(ctx, p); return err }); err != nil {
		return result{}, err
	}
	completed, cancel := client.SubscribeConfig(&river.SubscribeConfig{Kinds: []river.EventKind{river.EventKindJobCompleted}, ChanSize: n + 1})
	defer cancel()
	start := time.Now()
	if err := client.Start(ctx); err != nil {
		return result{}, err
	}
	for range n {
		<-completed
	}
	secs := time.Since(start).Seconds()
	if err := client.Stop(ctx); err != nil {
		return result{}, err
	}
	return result{PerSecond: float64(n) / secs}, nil
}

func preload(ctx context.Context, n int, insert func([]river.InsertManyParams) error) error {
	const chunk = 2000
	for done := 0; done < n; {
		k := min(chunk, n-done)
		p := make([]river.InsertManyParams, k)
		for i := range p {
			p[i] = river.InsertManyParams{Args: benchArgs{Frame: frame(done + i), At: time.Now().UnixNano()}}
		}
		if err := insert(p); err != nil {
			return fmt.Errorf("preload: %w", err)
		}
		done += k
	}
	return ctx.Err()
}

// latencies collects milliseconds.
type latencies struct {
	mu sync.Mutex
	ms []float64
}

func (l *latencies) add(at int64) {
	d := float64(time.Now().UnixNano()-at) / 1e6
	l.mu.Lock()
	l.ms = append(l.ms, d)
	l.mu.Unlock()
}

func (l *latencies) quantile(q float64) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ms) == 0 {
		return 0
	}
	s := slices.Clone(l.ms)
	slices.Sort(s)
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

// riverRate inserts one job at a time at rate for dur (as an ERP inserts
// rows) and measures insert → work started and insert → completion
// committed (River's completed event).
func riverRate(ctx context.Context, dsn string, rate float64, dur time.Duration, workers int) (result, error) {
	pool, err := freshSchema(ctx, dsn)
	if err != nil {
		return result{}, err
	}
	defer pool.Close()
	var started, done latencies
	w := &benchWorker{onStart: started.add}
	client, err := river.NewClient(riverpgxv5.New(pool), riverConfig(workers, w, peerSchema))
	if err != nil {
		return result{}, err
	}
	completed, cancel := client.SubscribeConfig(&river.SubscribeConfig{Kinds: []river.EventKind{river.EventKindJobCompleted}, ChanSize: 100000})
	defer cancel()
	var got atomic.Int64
	go func() {
		for ev := range completed {
			var a benchArgs
			if json.Unmarshal(ev.Job.EncodedArgs, &a) == nil {
				done.add(a.At)
			}
			got.Add(1)
		}
	}()
	if err := client.Start(ctx); err != nil {
		return result{}, err
	}
	begin := time.Now()
	sent := 0
	for time.Since(begin) < dur {
		due := int(rate*time.Since(begin).Seconds()) - sent
		if due <= 0 {
			time.Sleep(time.Until(begin.Add(time.Duration(float64(sent+1) / rate * float64(time.Second)))))
			continue
		}
		for range due {
			if _, err := client.Insert(ctx, benchArgs{Frame: frame(sent), At: time.Now().UnixNano()}, nil); err != nil {
				return result{}, err
			}
			sent++
		}
	}
	for deadline := time.Now().Add(time.Minute); got.Load() < int64(sent); {
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("river: %d of %d completed", got.Load(), sent)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := client.Stop(ctx); err != nil {
		return result{}, err
	}
	return result{PerSecond: float64(sent) / dur.Seconds(), StartP50: started.quantile(0.5), StartP99: started.quantile(0.99),
		DoneP50: done.quantile(0.5), DoneP99: done.quantile(0.99)}, nil
}

// pgmqBurn is the pure-SQL consumer pgmq's read-then-delete amounts to: on
// one connection, read 1000 messages FOR UPDATE SKIP LOCKED, delete them,
// commit, until the queue is empty.
func pgmqBurn(ctx context.Context, dsn string, n int) (result, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return result{}, err
	}
	defer conn.Close(ctx)
	q := peerSchema + ".q"
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+peerSchema+" CASCADE; CREATE SCHEMA "+peerSchema+
		"; CREATE TABLE "+q+" (msg_id bigserial PRIMARY KEY, read_ct int NOT NULL DEFAULT 0, enqueued_at timestamptz NOT NULL DEFAULT now(), vt timestamptz NOT NULL DEFAULT now(), message jsonb)"); err != nil {
		return result{}, err
	}
	if _, err := conn.Exec(ctx, "INSERT INTO "+q+" (message) SELECT jsonb_build_object('frame', '<bench' || lpad((i % 1000)::text, 5, '0') || '><P><ON><' || i || '>$') FROM generate_series(1, $1) i", n); err != nil {
		return result{}, err
	}
	start := time.Now()
	moved := 0
	for {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return result{}, err
		}
		rows, err := tx.Query(ctx, "SELECT msg_id, message FROM "+q+" ORDER BY msg_id LIMIT 1000 FOR UPDATE SKIP LOCKED")
		if err != nil {
			return result{}, err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			var msg []byte
			if err := rows.Scan(&id, &msg); err != nil {
				return result{}, err
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return result{}, err
		}
		if len(ids) == 0 {
			_ = tx.Rollback(ctx)
			break
		}
		if _, err := tx.Exec(ctx, "DELETE FROM "+q+" WHERE msg_id = ANY($1)", ids); err != nil {
			return result{}, err
		}
		if err := tx.Commit(ctx); err != nil {
			return result{}, err
		}
		moved += len(ids)
	}
	if moved != n {
		return result{}, fmt.Errorf("pgmq: moved %d, want %d", moved, n)
	}
	return result{PerSecond: float64(n) / time.Since(start).Seconds()}, nil
}

// riverSQLiteBurn is riverBurn on a fresh SQLite file (WAL, synchronous
// FULL as ctirelay's default, one connection as River advises).
func riverSQLiteBurn(ctx context.Context, path string, n, workers int) (result, error) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return result{}, err
		}
	}
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	}()
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	drv := riversqlite.New(db)
	m, err := rivermigrate.New(drv, nil)
	if err == nil {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	}
	if err != nil {
		return result{}, fmt.Errorf("river migrate: %w", err)
	}
	w := &benchWorker{}
	cfg := riverConfig(workers, w, "")
	client, err := river.NewClient(drv, cfg)
	if err != nil {
		return result{}, err
	}
	if err := preload(ctx, n, func(p []river.InsertManyParams) error { _, err := client.InsertMany(ctx, p); return err }); err != nil {
		return result{}, err
	}
	completed, cancel := client.SubscribeConfig(&river.SubscribeConfig{Kinds: []river.EventKind{river.EventKindJobCompleted}, ChanSize: n + 1})
	defer cancel()
	start := time.Now()
	if err := client.Start(ctx); err != nil {
		return result{}, err
	}
	for range n {
		<-completed
	}
	secs := time.Since(start).Seconds()
	if err := client.Stop(ctx); err != nil {
		return result{}, err
	}
	return result{PerSecond: float64(n) / secs}, nil
}

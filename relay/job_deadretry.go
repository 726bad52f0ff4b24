package relay

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// DeadRetryJob puts back in the inbox, at the tail of their agent's queue,
// the dead letters whose reason is one of Reasons (the code before the
// colon: "retries-exhausted", "in-doubt" ...), at most Max a run. Messages
// refused at intake are never retried (they have no verb).
type DeadRetryJob struct {
	Store   Operators
	Clock   Clock
	Logger  *slog.Logger
	Reasons []string
	Max     int // per run (100)
}

// retriable reports whether a dead letter's reason is one of reasons.
func retriable(reason string, reasons []string) bool {
	code, _, _ := strings.Cut(reason, ":")
	for _, r := range reasons {
		if strings.TrimSpace(code) == r {
			return true
		}
	}
	return false
}

// Run is the job's JobFunc.
func (j DeadRetryJob) Run(ctx context.Context, _ RunInfo) (map[string]any, error) {
	clock, limit, log := j.Clock, j.Max, j.Logger
	if clock == nil {
		clock = SystemClock{}
	}
	if limit <= 0 {
		limit = 100
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var ids []int64
	byReason := map[string]int{}
	after := int64(0)
	for len(ids) < limit {
		page, err := j.Store.DeadLetters(ctx, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("read dead letters: %w", err)
		}
		for _, d := range page {
			if len(ids) < limit && d.Verb != "" && retriable(d.Reason, j.Reasons) {
				ids = append(ids, d.ID)
				code, _, _ := strings.Cut(d.Reason, ":")
				byReason[code]++
				log.Info("dead letter retried", "dead_id", d.ID, "agent", d.Agent, "verb", d.Verb, "reason", d.Reason)
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	summary := map[string]any{"retried": 0, "by_reason": byReason, "dead_ids": ids}
	if len(ids) == 0 {
		return summary, nil
	}
	n, err := j.Store.RetryDead(ctx, ids, clock.Now())
	summary["retried"] = n
	if err != nil {
		return summary, fmt.Errorf("retry dead letters: %w", err)
	}
	return summary, nil
}

package storetest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
)

func init() {
	register("IntakeMixedIsTtiNumbering", intakeMixedNumbering)
}

// An ERP may supply IS_TTI itself or let the database number the row, and
// the README's walkthrough does both in turn: on a T_TTI the relay created,
// the two forms work together in any order (a default number is always past
// every explicit one before it, and an explicit one below the numbering still
// goes in), also with writers on several connections at once, and intake
// takes every row in IS_TTI order.
func intakeMixedNumbering(t *testing.T, e *env) {
	ctx := context.Background()
	byDefault := func(frame string) int64 {
		t.Helper()
		before := e.ttiIDs(t)
		e.exec(t, `INSERT INTO {{tti}} (DS_TTI) VALUES (?)`, frame)
		ids := e.ttiIDs(t)
		for _, id := range ids {
			if !slices.Contains(before, id) {
				return id
			}
		}
		t.Fatalf("no new IS_TTI after a default insert: %v", ids)
		return 0
	}
	e.exec(t, `INSERT INTO {{tti}} VALUES (1, '<jose><L><ON>$')`)
	if id := byDefault("<jose><A><85><40050500><>$"); id <= 1 {
		t.Fatalf("default IS_TTI after an explicit 1 is %d", id)
	}
	e.exec(t, `INSERT INTO {{tti}} VALUES (5, '<ana><L><ON>$')`)
	if id := byDefault("<ana><S>$"); id <= 5 {
		t.Fatalf("default IS_TTI after an explicit 5 is %d", id)
	}
	e.exec(t, `INSERT INTO {{tti}} VALUES (3, '<maria><L><ON>$')`) // below the numbering
	if id := byDefault("<maria><S>$"); id <= 5 {
		t.Fatalf("default IS_TTI after an explicit 3 is %d", id)
	}

	// Two writers numbering by default at once, one of them also supplying
	// ids ahead of the numbering.
	const each = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.DB.Conn(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := range each {
				agent := fmt.Sprintf("w%d_%d", w, i)
				if _, err := c.ExecContext(ctx, e.sql(`INSERT INTO {{tti}} (DS_TTI) VALUES (?)`), "<"+agent+"><S>$"); err != nil {
					errs <- fmt.Errorf("writer %d, default insert %d: %w", w, i, err)
					return
				}
				if w == 1 && i%5 == 0 {
					q := e.sql(`INSERT INTO {{tti}} VALUES ((SELECT max(IS_TTI) + 100 FROM {{tti}}), ?)`)
					if _, err := c.ExecContext(ctx, q, "<x"+agent+"><S>$"); err != nil {
						errs <- fmt.Errorf("writer %d, explicit insert %d: %w", w, i, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if top, id := slices.Max(e.ttiIDs(t)), byDefault("<last><S>$"); id <= top {
		t.Fatalf("default IS_TTI %d is not past every row (up to %d)", id, top)
	}

	want := e.ttiIDs(t)
	if len(want) != 7+2*each+each/5 {
		t.Fatalf("T_TTI holds %d rows", len(want))
	}
	for e.intake(t, 7, t0) > 0 {
	}
	var refs []string
	for _, r := range e.inbox(t) {
		refs = append(refs, r.Ref)
	}
	for _, d := range e.dead(t) {
		t.Errorf("dead letter %+v", d)
	}
	var wantRefs []string
	for _, id := range want {
		wantRefs = append(wantRefs, strconv.FormatInt(id, 10))
	}
	equal(t, "inbox source_ref in inbox id order", refs, wantRefs)
}

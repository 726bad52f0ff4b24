package storetest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/ctirelay/ctirelay/schema"
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
	explicit := func(id int64, frame string) {
		t.Helper()
		e.Tables.InsertTTI(t, Row{ID: id, Text: frame})
	}
	byDefault := func(frame string) int64 {
		t.Helper()
		return e.insertTTI(t, frame)[0]
	}
	explicit(1, "<jose><L><ON>$")
	if id := byDefault("<jose><A><85><40050500><>$"); id <= 1 {
		t.Fatalf("default IS_TTI after an explicit 1 is %d", id)
	}
	explicit(5, "<ana><L><ON>$")
	if id := byDefault("<ana><S>$"); id <= 5 {
		t.Fatalf("default IS_TTI after an explicit 5 is %d", id)
	}
	explicit(3, "<maria><L><ON>$") // below the numbering
	if id := byDefault("<maria><S>$"); id <= 5 {
		t.Fatalf("default IS_TTI after an explicit 3 is %d", id)
	}
	rows := 7
	if e.DB != nil {
		rows += concurrentNumbering(t, e)
	}
	if top, id := slices.Max(e.ttiIDs(t)), byDefault("<last><S>$"); id <= top {
		t.Fatalf("default IS_TTI %d is not past every row (up to %d)", id, top)
	}

	want := e.ttiIDs(t)
	slices.Sort(want) // the order intake must follow
	if len(want) != rows {
		t.Fatalf("T_TTI holds %d rows, want %d", len(want), rows)
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

// concurrentNumbering has two writers number rows by default at once on
// connections of their own, one of them also supplying ids ahead of the
// numbering, and returns how many rows they inserted.
func concurrentNumbering(t *testing.T, e *env) int {
	t.Helper()
	ctx := context.Background()
	q := func(query string) string {
		query = schema.Render(query, e.Names)
		if e.Rebind != nil {
			query = e.Rebind(query)
		}
		return query
	}
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
				if _, err := c.ExecContext(ctx, q(`INSERT INTO {{tti}} (DS_TTI) VALUES (?)`), "<"+agent+"><S>$"); err != nil {
					errs <- fmt.Errorf("writer %d, default insert %d: %w", w, i, err)
					return
				}
				if w == 1 && i%5 == 0 {
					q := q(`INSERT INTO {{tti}} VALUES ((SELECT max(IS_TTI) + 100 FROM {{tti}}), ?)`)
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
	return 2*each + each/5
}

package postgres

import (
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/store"
)

// The statements that start from the heads of the agents' queues share one
// walk (sql/fragment/heads.sql), rendered in full into each.
func TestHeadWalkIsShared(t *testing.T) {
	t.Parallel()
	o, err := store.Options{}.WithDefaults()
	if err != nil {
		t.Fatal(err)
	}
	q, err := loadQueries(sqlNames(o))
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range q.text {
		if strings.Contains(text, "{{") || strings.Contains(text, "-- heads walks") {
			t.Errorf("sql/%s.sql: a placeholder or the fragment's comment is left:\n%s", name, text)
		}
	}
	for _, name := range []query{qClaim, qReclaim, qReclaimDead, qExtend, qRelease} {
		text := q.text[name]
		if strings.Count(text, "WITH RECURSIVE head AS (") != 1 || !strings.Contains(text, "WHERE i.agent > h.agent ORDER BY i.agent, i.id LIMIT 1) n\n)") {
			t.Errorf("sql/%s.sql does not start from the heads walk:\n%s", name, text)
		}
	}
}

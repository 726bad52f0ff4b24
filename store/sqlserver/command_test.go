package sqlserver

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ctirelay/ctirelay/store"
)

// TestCommandTrafficGolden pins what Command sends (kept apart from
// traffic.txt, which other methods' work rewrites): three lookups by inbox
// id, typed bigint.
func TestCommandTrafficGolden(t *testing.T) {
	t.Parallel()
	s, f := fakeStore(t, store.Options{}, scripted)
	if _, found, err := s.Command(context.Background(), 41); err != nil || found {
		t.Fatalf("Command = found %v, %v; want nothing found", found, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Command\n%s", trace(f.Calls()))
	for _, c := range f.Calls() {
		if c.name == "?" {
			t.Errorf("a statement of no sql/*.sql file:\n%s", c.query)
		}
	}
	checkGolden(t, "command_traffic.txt", b.String())
}

package store_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ctirelay/ctirelay/store"
)

func TestLoadSQLIncludesFragments(t *testing.T) {
	t.Parallel()
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	fsys := fstest.MapFS{
		"a.sql":             f("-- a\n{{> walk}}, x AS (SELECT 1)\nSELECT * FROM {{inbox}}"),
		"b.sql":             f("{{>walk}}\nDELETE FROM {{tti}}"),
		"README.md":         f("not a statement"),
		"fragment/walk.sql": f("-- what walk is\n-- more\nWITH w AS (SELECT id FROM {{inbox}})\n"),
	}
	names := map[string]string{"inbox": "relay_inbox", "tti": "T_TTI"}
	got, err := store.LoadSQL(fsys, names)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a": "-- a\nWITH w AS (SELECT id FROM relay_inbox), x AS (SELECT 1)\nSELECT * FROM relay_inbox",
		"b": "WITH w AS (SELECT id FROM relay_inbox)\nDELETE FROM T_TTI",
	}
	if len(got) != len(want) {
		t.Fatalf("statements = %q", got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	for name, bad := range map[string]fstest.MapFS{
		"missing fragment": {"a.sql": f("{{> nope}} SELECT 1")},
		"nested fragment":  {"a.sql": f("{{> x}}"), "fragment/x.sql": f("{{> y}}"), "fragment/y.sql": f("SELECT 1")},
	} {
		if _, err := store.LoadSQL(bad, names); err == nil || !strings.Contains(err.Error(), "a.sql") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

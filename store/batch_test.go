package store_test

import (
	"slices"
	"testing"

	"github.com/ctirelay/ctirelay/store"
)

func TestEachRunsPowersOfTwo(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n, max int
		want   []int
	}{
		{0, 512, nil},
		{1, 512, []int{1}},
		{7, 512, []int{4, 2, 1}},
		{512, 512, []int{512}},
		{1000, 512, []int{512, 256, 128, 64, 32, 8}},
		{1100, 512, []int{512, 512, 64, 8, 4}},
		{300, 128, []int{128, 128, 32, 8, 4}},
	} {
		var got []int
		next := 0
		_ = store.Each(tt.n, tt.max, func(lo, hi int) error {
			if lo != next {
				t.Fatalf("Each(%d, %d): run starts at %d, want %d", tt.n, tt.max, lo, next)
			}
			next = hi
			got = append(got, hi-lo)
			return nil
		})
		if !slices.Equal(got, tt.want) || next != tt.n {
			t.Errorf("Each(%d, %d) runs = %v, want %v", tt.n, tt.max, got, tt.want)
		}
	}
}

func TestBatchSQL(t *testing.T) {
	t.Parallel()
	b := store.Batch{Head: "DELETE FROM {{dead}} WHERE id IN (", Tuple: "?", Params: 1, Tail: ")"}.Rendered(map[string]string{"dead": "relay_dead"})
	if got := b.SQL(3); got != "DELETE FROM relay_dead WHERE id IN (?, ?, ?)" {
		t.Fatalf("SQL(3) = %q", got)
	}
	v := store.Batch{Head: "INSERT INTO t VALUES ", Tuple: "(?, ?)", Sep: ",", Params: 2}.Rendered(nil)
	if got := v.SQL(2); got != "INSERT INTO t VALUES (?, ?),(?, ?)" {
		t.Fatalf("SQL(2) = %q", got)
	}
}

package sim

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/ctirelay/ctirelay/relay"
)

// BenchmarkHandle measures commands across many agents in parallel, as the
// relay drives the switch, with an event subscriber attached.
func BenchmarkHandle(b *testing.B) {
	sw, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer sw.Stop()
	events, cancel := sw.Subscribe(1024)
	defer cancel()
	go func() {
		for range events {
		}
	}()
	ctx := context.Background()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		login := fmt.Sprintf("agent%d", next.Add(1))
		var cmds []relay.Command
		for _, raw := range []string{"<%s><L><ON>$", "<%s><S>$", "<%s><P><ON><1>$", "<%s><P><OFF>$", "<%s><L><OFF>$"} {
			cmds = append(cmds, command(b, fmt.Sprintf(raw, login)))
		}
		i := 0
		for pb.Next() {
			if _, err := sw.Handle(ctx, cmds[i%len(cmds)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

package relay

import (
	"context"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/ctirelay/ctirelay/relay/relaytest/wait"
)

// gatedPool runs jobs that wait for their own release channel.
type gatedPool struct {
	*workerPool
	mu      sync.Mutex
	release map[int64]chan struct{}
	done    int
}

func newGatedPool(max int) *gatedPool {
	g := &gatedPool{release: map[int64]chan struct{}{}}
	g.workerPool = &workerPool{max: max, run: func(w work) {
		g.mu.Lock()
		ch := g.release[w.job.ID]
		g.mu.Unlock()
		<-ch
		g.mu.Lock()
		g.done++
		g.mu.Unlock()
	}}
	return g
}

func (g *gatedPool) submitGated(id int64) chan struct{} {
	ch := make(chan struct{})
	g.mu.Lock()
	g.release[id] = ch
	g.mu.Unlock()
	g.submit(work{ctx: context.Background(), job: Job{ID: id}})
	return ch
}

func (g *gatedPool) idle() []chan work {
	g.workerPool.mu.Lock()
	defer g.workerPool.mu.Unlock()
	return append([]chan work(nil), g.workerPool.idle...)
}

// The worker that went idle last takes the next command: its stack is the
// one still grown.
func TestWorkerPoolHandsWorkToTheLastIdleWorker(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	g := newGatedPool(3)
	var gates []chan struct{}
	for id := int64(1); id <= 3; id++ {
		gates = append(gates, g.submitGated(id))
	}
	for i, gate := range gates {
		close(gate)
		wait.For(t, "a worker to go idle", func() bool { return len(g.idle()) == i+1 })
	}
	before := g.idle()
	gate := g.submitGated(4)
	if got := g.idle(); len(got) != 2 || got[0] != before[0] || got[1] != before[1] {
		t.Fatalf("the command went to another worker than the one idle last")
	}
	close(gate)
	wait.For(t, "the worker to come back", func() bool { return len(g.idle()) == 3 })
	if got := g.idle(); got[2] != before[2] {
		t.Fatalf("a different worker came back last")
	}
	g.close()
	g.close() // safe twice
}

// No more than max workers wait idle; the others end, and close ends the
// idle ones (goleak checks both).
func TestWorkerPoolKeepsAtMostMaxIdle(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	g := newGatedPool(1)
	a, b := g.submitGated(1), g.submitGated(2)
	close(a)
	close(b)
	wait.For(t, "both commands to finish and one worker to wait", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.done == 2 && len(g.idle()) == 1
	})
	g.close()
	if n := len(g.idle()); n != 0 {
		t.Fatalf("idle workers after close: %d", n)
	}
}

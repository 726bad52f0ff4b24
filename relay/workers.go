package relay

import "sync"

// workerPool runs commands on reused goroutines. A new goroutine grows its
// stack while it runs a command, and the garbage collector shrinks the stack
// of one that waits; so the pool hands work to the worker that went idle
// last: a busy relay keeps a few hot workers whose stacks stay grown, instead
// of rotating through one per command in flight (stack copying was a fifth
// of the relay's CPU at full speed).
type workerPool struct {
	run func(work)
	max int // idle workers kept at most

	mu     sync.Mutex
	idle   []chan work // most recently idle last
	closed bool
	wg     sync.WaitGroup
}

// submit runs w on an idle worker, or on a new one.
func (p *workerPool) submit(w work) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		ch := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		ch <- w // buffered: never blocks
		return
	}
	p.mu.Unlock()
	p.wg.Add(1)
	go p.loop(w)
}

func (p *workerPool) loop(w work) {
	defer p.wg.Done()
	ch := make(chan work, 1)
	for {
		p.run(w)
		p.mu.Lock()
		if p.closed || len(p.idle) >= p.max {
			p.mu.Unlock()
			return
		}
		p.idle = append(p.idle, ch)
		p.mu.Unlock()
		next, ok := <-ch
		if !ok {
			return
		}
		w = next
	}
}

// close ends the idle workers and waits for every worker to finish. Nothing
// may be submitted once it is called.
func (p *workerPool) close() {
	p.mu.Lock()
	p.closed = true
	for _, ch := range p.idle {
		close(ch)
	}
	p.idle = nil
	p.mu.Unlock()
	p.wg.Wait()
}

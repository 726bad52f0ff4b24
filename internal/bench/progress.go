package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressBar draws one line on stderr while the bench runs, only when
// stderr is a terminal: logs and pipes get the report alone.
type progressBar struct {
	w  io.Writer
	on bool

	mu    sync.Mutex
	label string
	start time.Time
	drawn time.Time
	shown bool
}

func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	if !ok {
		return &progressBar{w: w}
	}
	st, err := f.Stat()
	return &progressBar{w: w, on: err == nil && st.Mode()&os.ModeCharDevice != 0}
}

// show draws label with done of total, at most ten times a second.
func (p *progressBar) show(label string, done, total int64) {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if label != p.label {
		p.label, p.start = label, now
	} else if now.Sub(p.drawn) < 100*time.Millisecond && done < total {
		return
	}
	p.drawn = now
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	fill := int(frac * width)
	rate := ""
	if s := now.Sub(p.start).Seconds(); s > 0.2 {
		rate = fmt.Sprintf("  %s/s", thousands(int64(float64(done)/s)))
	}
	fmt.Fprintf(p.w, "\r\033[K%-18s [%s%s] %3.0f%%  %s/%s%s", label,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100, thousands(done), thousands(total), rate)
	p.shown = true
}

// clear erases the line before the report is printed.
func (p *progressBar) clear() {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// thousands formats n with comma separators: 1234567 is "1,234,567".
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

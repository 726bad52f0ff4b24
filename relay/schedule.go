package relay

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule says when a job's slots are. robfig/cron parses the spec and
// computes the next matching wall-clock time; the loop, leadership and run
// history are the relay's own (Scheduler).
//
// A cron spec (five fields, or six with seconds first; or @daily, @hourly
// ...) is read as wall-clock time in the schedule's zone, and daylight
// saving follows the zone: a slot in a skipped hour (02:30 on the night
// clocks go from 02:00 to 03:00) runs when the clocks jump (03:00), once,
// however many slots fell in the gap; a slot in a repeated hour runs once,
// at its first occurrence. So a daily job runs exactly once every day.
// "@every D" is elapsed time, whatever the zone: slots are the multiples of
// D since the zero time (aligned to the hour for D dividing one), so every
// leader computes the same slots.
type Schedule struct {
	spec  string
	every time.Duration
	cron  *cron.SpecSchedule // evaluated in UTC on wall-clock times
	loc   *time.Location
}

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule reads a spec for the zone loc (time.Local when nil). The
// parser panics on some malformed specs (robfig/cron#554: "TZ=0"); that is
// an error here, like any other.
func ParseSchedule(spec string, loc *time.Location) (s Schedule, err error) {
	if loc == nil {
		loc = time.Local
	}
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "":
		return Schedule{}, errors.New("empty schedule")
	case strings.HasPrefix(spec, "@every "):
		d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(spec, "@every ")))
		if err != nil {
			return Schedule{}, fmt.Errorf("@every: %w", err)
		}
		if d < time.Second {
			return Schedule{}, fmt.Errorf("@every %v: at least 1s", d)
		}
		return Schedule{spec: spec, every: d, loc: loc}, nil
	}
	defer func() {
		if r := recover(); r != nil {
			s, err = Schedule{}, fmt.Errorf("malformed schedule %q: %v", spec, r)
		}
	}()
	parsed, err := cronParser.Parse(spec)
	if err != nil {
		return Schedule{}, err
	}
	sched, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return Schedule{}, fmt.Errorf("unsupported schedule %q", spec)
	}
	if sched.Location != time.Local { // a TZ= or CRON_TZ= prefix
		return Schedule{}, errors.New("a zone in the schedule is not supported: use the job's timezone key")
	}
	c := *sched
	c.Location = time.UTC
	return Schedule{spec: spec, cron: &c, loc: loc}, nil
}

// String is the spec as given.
func (s Schedule) String() string { return s.spec }

// Location is the zone of the schedule.
func (s Schedule) Location() *time.Location { return s.loc }

// Next is the first slot after t; zero when there is none (a spec such
// as 30 February).
func (s Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.Truncate(s.every).Add(s.every)
	}
	if s.cron == nil {
		return time.Time{}
	}
	w := wallClock(t, s.loc)
	// Slots in a skipped hour map onto its end, so several wall-clock slots
	// can give one instant: go on until one is after t.
	for range 10_000 {
		w = s.cron.Next(w)
		if w.IsZero() {
			return time.Time{}
		}
		if r := instant(w, s.loc); r.After(t) {
			return r
		}
	}
	return time.Time{}
}

// wallClock is t's clock reading in loc, as a UTC time (no zone rules).
func wallClock(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// instant is the moment loc's clocks read w: the first such moment in a
// repeated hour, and the moment the clocks jumped past w when they never
// read it (a skipped hour).
func instant(w time.Time, loc *time.Location) time.Time {
	r := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	if !wallClock(r, loc).Equal(w) {
		// In a gap: the first instant reading w or later. The clocks are
		// monotone around one transition, so bisect over the hours about
		// it (time.Date may put r on either side).
		lo, hi := r.Add(-3*time.Hour), r.Add(3*time.Hour)
		for hi.Sub(lo) > time.Second {
			mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
			if wallClock(mid, loc).Before(w) {
				lo = mid
			} else {
				hi = mid
			}
		}
		return hi
	}
	for _, back := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		if e := r.Add(-back); wallClock(e, loc).Equal(w) && e.Before(r) {
			r = e
		}
	}
	return r
}

package relay_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	ny := zone(t, "America/New_York") // 2025-03-09 02:00 EST → 03:00 EDT; 2025-11-02 02:00 EDT → 01:00 EST
	tokyo := zone(t, "Asia/Tokyo")
	in := func(loc *time.Location, s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	edt := func(s string) time.Time { return in(time.FixedZone("EDT", -4*3600), s) }
	est := func(s string) time.Time { return in(time.FixedZone("EST", -5*3600), s) }
	for _, c := range []struct {
		name, spec string
		loc        *time.Location
		from       time.Time
		want       []time.Time
	}{
		{"daily in a skipped hour runs when the clocks jump, once", "30 2 * * *", ny, est("2025-03-08 03:00:00"),
			[]time.Time{edt("2025-03-09 03:00:00"), edt("2025-03-10 02:30:00")}},
		{"daily in a repeated hour runs once, at its first occurrence", "30 1 * * *", ny, edt("2025-11-01 02:00:00"),
			[]time.Time{edt("2025-11-02 01:30:00"), est("2025-11-03 01:30:00")}},
		{"half-hourly across the skipped hour: the gap's slots collapse into one", "*/30 * * * *", ny, est("2025-03-09 01:00:00"),
			[]time.Time{est("2025-03-09 01:30:00"), edt("2025-03-09 03:00:00"), edt("2025-03-09 03:30:00")}},
		{"half-hourly across the repeated hour: wall-clock slots, each once", "*/30 * * * *", ny, edt("2025-11-02 00:30:00"),
			[]time.Time{edt("2025-11-02 01:00:00"), edt("2025-11-02 01:30:00"), est("2025-11-02 02:00:00")}},
		{"seconds field", "*/20 * * * * *", time.UTC, in(time.UTC, "2025-01-01 10:00:05"),
			[]time.Time{in(time.UTC, "2025-01-01 10:00:20"), in(time.UTC, "2025-01-01 10:00:40"), in(time.UTC, "2025-01-01 10:01:00")}},
		{"@daily in the job's zone", "@daily", tokyo, in(tokyo, "2025-06-01 12:00:00"),
			[]time.Time{in(tokyo, "2025-06-02 00:00:00"), in(tokyo, "2025-06-03 00:00:00")}},
		{"@every is elapsed time, aligned, whatever the zone", "@every 5m", ny, edt("2025-11-02 01:58:30"),
			[]time.Time{edt("2025-11-02 02:00:00"), edt("2025-11-02 02:05:00")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s, err := relay.ParseSchedule(c.spec, c.loc)
			if err != nil {
				t.Fatal(err)
			}
			at := c.from
			for i, want := range c.want {
				got := s.Next(at)
				if !got.Equal(want) {
					t.Fatalf("slot %d after %v: %v, want %v", i+1, at, got.In(c.loc), want.In(c.loc))
				}
				at = got
			}
		})
	}
}

func TestParseScheduleErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ spec, want string }{
		{"", "empty"},
		{"TZ=0", "malformed"}, // panics inside robfig/cron (#554)
		{"CRON_TZ=", "malformed"},
		{"TZ=UTC 0 * * * *", "timezone key"},
		{"61 * * * *", "above maximum"},
		{"* * *", "expected"},
		{"@every 500ms", "at least 1s"},
		{"@every soon", "@every"},
		{"@weekly-ish", "unrecognized"},
	} {
		_, err := relay.ParseSchedule(c.spec, time.UTC)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSchedule(%q) = %v, want an error with %q", c.spec, err, c.want)
		}
	}
}

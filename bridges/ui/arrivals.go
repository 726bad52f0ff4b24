package ui

import "time"

// arrivals dates T_TTI's rows, which have no time column: once per
// summary it notes the highest IS_TTI and when it first saw it, so the
// lowest one waiting arrived at about the first sighting of a highest id
// at least as high (within one interval). Rows there before the first
// look can only be dated from it: their age is a bound (at least).
//
// It assumes IS_TTI grows with time, as an identity column does; an ERP
// that numbers its rows otherwise makes the age approximate.
type arrivals struct {
	looked bool // a look was taken: later sightings are of new rows
	seen   []sighting
}

type sighting struct {
	last  int64
	at    time.Time
	first bool // taken at the first look: rows up to last came earlier
}

// arrivalsMax bounds the sightings kept (one per interval while T_TTI only
// grows); past it every other one goes, which coarsens the oldest dates.
const arrivalsMax = 4096

// observe records a look at T_TTI's ends and returns the age of its lowest
// row, with atLeast set when that row was there before the first look.
func (a *arrivals) observe(first, last int64, now time.Time) (age time.Duration, atLeast bool) {
	initial := !a.looked
	a.looked = true
	if last == 0 { // empty
		a.seen = a.seen[:0]
		return 0, false
	}
	if n := len(a.seen); n == 0 || last > a.seen[n-1].last {
		a.seen = append(a.seen, sighting{last: last, at: now, first: initial})
	}
	// Sightings of rows all gone now tell nothing more.
	drop := 0
	for drop < len(a.seen)-1 && a.seen[drop].last < first {
		drop++
	}
	a.seen = a.seen[drop:]
	if len(a.seen) > arrivalsMax {
		thin := a.seen[:1]
		for i := 2; i < len(a.seen); i += 2 {
			thin = append(thin, a.seen[i])
		}
		a.seen = thin
	}
	s := a.seen[0]
	return now.Sub(s.at), s.first
}

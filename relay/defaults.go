package relay

import "time"

// setDefault sets *p to v when it is not above zero: a config's zero value
// (or a negative one) takes the documented default.
func setDefault[T int | time.Duration](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}

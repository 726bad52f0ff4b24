package httpdial

import (
	"slices"
	"strings"

	"github.com/ctirelay/ctirelay/relay"
)

// separators may appear in numbers as ERPs store them; they are not dialled.
var separators = strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "")

// Destination turns A's DDD and number into what the platform dials:
// the digits of DDD and number together, then, for a number that is not
// internal, the zero of usa_zero_ddd (unless it already starts with one)
// and before it the line prefix of usa_linha. The error is BAD_ARGS.
func (r DialRules) Destination(ddd, phone string) (string, error) {
	ddd, phone = separators.Replace(ddd), separators.Replace(phone)
	if phone == "" {
		return "", relay.Errorf(relay.CodeBadArgs, "A: no number to dial")
	}
	if (ddd != "" && !isDigits(ddd)) || !isDigits(phone) {
		return "", relay.Errorf(relay.CodeBadArgs, "A: cannot dial %q %q (digits only)", ddd, phone)
	}
	n := ddd + phone
	if r.internal(n) {
		return n, nil
	}
	if r.ZeroDDD && !strings.HasPrefix(n, "0") {
		n = "0" + n
	}
	if r.UseLine {
		n = r.LinePrefix + n
	}
	return n, nil
}

func (r DialRules) internal(n string) bool {
	return slices.Contains(r.Internal, n) || (r.InternalMaxLen > 0 && len(n) <= r.InternalMaxLen)
}

package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// areaCodes are Brazilian DDDs, so callers look like the ERP's real customers.
var areaCodes = []string{"11", "19", "21", "27", "31", "41", "47", "48", "51", "61", "62", "71", "81", "85", "91"}

// brazilianNumber draws a caller: a mobile (9 digits starting with 9) seven
// times in ten, otherwise a landline (8 digits starting with 2 to 5).
func brazilianNumber(rng *rand.Rand) (ddd, phone string) {
	ddd = areaCodes[rng.IntN(len(areaCodes))]
	if rng.IntN(10) < 7 {
		return ddd, fmt.Sprintf("9%d%07d", 6+rng.IntN(4), rng.IntN(10_000_000))
	}
	return ddd, fmt.Sprintf("%d%07d", 2+rng.IntN(4), rng.IntN(10_000_000))
}

// neverAnswers marks the test numbers that ring out unanswered: those ending
// in 0000, so an integration can exercise a failed dial.
func neverAnswers(phone string) bool { return strings.HasSuffix(phone, "0000") }

// isDigits reports whether s is non-empty and all ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// recordingPath builds a recording address in the style of the Tactium
// example c:\records\2015\1\16\7016-20150116-163837-P2C05-Station.wav:
// dir\year\month\day\extension-date-time-channel-Station.wav. The channel tag
// has no meaning outside the switch; here it comes from the call number
// (call 105 gives the document's P2C05).
func recordingPath(dir, ext string, at time.Time, callID int64) string {
	sep := `\`
	if !strings.Contains(dir, `\`) && strings.Contains(dir, "/") {
		sep = "/"
	}
	name := fmt.Sprintf("%s-%s-P%dC%02d-Station.wav", ext, at.Format("20060102-150405"), 1+callID/100%9, callID%100)
	return strings.Join([]string{
		strings.TrimRight(dir, `\/`),
		strconv.Itoa(at.Year()), strconv.Itoa(int(at.Month())), strconv.Itoa(at.Day()),
		name,
	}, sep)
}

// itemID draws a dialer mailing item id in UUID form.
func itemID(rng *rand.Rand) string {
	a, b := rng.Uint64(), rng.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

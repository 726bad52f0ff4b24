package store

import (
	"slices"
	"strings"
)

// JoinHolds is how relay_node.holds stores relay.Node.Holds: the lock
// names sorted, comma-separated ("" for none), readable by a DBA as is.
func JoinHolds(holds []string) string {
	return strings.Join(slices.Sorted(slices.Values(holds)), ",")
}

// SplitHolds reads relay_node.holds back; "" is nil.
func SplitHolds(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

package relay

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// OwnerSep separates a node name from its incarnation in a lease owner. Node
// names may not contain it, so "every incarnation of node N" is the owners
// that start with "N#": one prefix test on lease_owner.
const OwnerSep = "#"

// LeaseOwner is the lease owner of one incarnation (one start) of a node:
// leases belong to a running process, not to a name, so a relay restarted
// under the same name never extends or releases what its predecessor held.
func LeaseOwner(node, incarnation string) string { return node + OwnerSep + incarnation }

// OwnerNode is the node name in a lease owner (all of it for an owner from
// before incarnations).
func OwnerNode(owner string) string {
	node, _, _ := strings.Cut(owner, OwnerSep)
	return node
}

// NewIncarnation returns a random incarnation id, unique per start.
func NewIncarnation() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func checkNodeName(node string) error {
	switch {
	case node == "":
		return errors.New("engine needs a node name")
	case strings.Contains(node, OwnerSep):
		return fmt.Errorf("node name %q contains %q, which separates the name from the incarnation in lease owners", node, OwnerSep)
	}
	return nil
}

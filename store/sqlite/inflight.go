package sqlite

import (
	"context"
	"encoding/json"

	"github.com/ctirelay/ctirelay/relay"
	"github.com/ctirelay/ctirelay/schema"
)

// sqlInFlight reads the running commands of some logins. A SQLite file has
// a single relay, so the listening relay's own commands are all there is and
// this always answers nothing in a running relay; it reads the inbox's
// running rows without an index rather than add one every command must
// write.
const sqlInFlight = `SELECT id, attempts, agent FROM {{inbox}}
 WHERE state = 'running' AND lease_owner IS NOT ?
   AND lower(agent) IN (SELECT lower(value) FROM json_each(?))`

// InFlight implements relay.Queue.
func (s *Store) InFlight(ctx context.Context, agents []string, owner string) ([]relay.Lease, error) {
	if len(agents) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(agents)
	if err != nil {
		return nil, err
	}
	rs, err := s.db.QueryContext(ctx, schema.Render(sqlInFlight, s.names), owner, string(list))
	if err != nil {
		return nil, fail(ctx, "commands in flight", err)
	}
	defer rs.Close()
	var out []relay.Lease
	for rs.Next() {
		var l relay.Lease
		if err := rs.Scan(&l.ID, &l.Attempts, &l.Agent); err != nil {
			return nil, fail(ctx, "commands in flight", err)
		}
		out = append(out, l)
	}
	if err := rs.Err(); err != nil {
		return nil, fail(ctx, "commands in flight", err)
	}
	return out, nil
}

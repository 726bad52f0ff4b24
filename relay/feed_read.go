package relay

import "context"

// feedReadRounds bounds one Read's journal reads: a filter that takes
// little never makes a read long; the caller continues from next.
const feedReadRounds = 10

// Read returns up to limit entries that filter takes after journal id
// after, never beyond what the feed has read (Position), so a reader
// polling with Read never sees an entry before the feed's subscribers do.
// next is where the following Read starts: the last entry examined, or the
// feed's position once everything up to it was examined. It is for a
// long-poll that reads a page and answers (one subscription per request
// would cost more); a subscriber that stays uses Subscribe with After.
// The feed reads only the kinds its subscribers take (and replies), so
// the bound moves over those: entries of other kinds are read once a
// subscriber takes them (the HTTP bridge's stream hub takes every kind).
func (f *Feed) Read(ctx context.Context, after int64, filter Filter, limit int) (entries []JournalEntry, next int64, err error) {
	if limit <= 0 {
		limit = f.cfg.Batch
	}
	target := f.Position()
	next = after
	var kinds []string
	if len(filter.Kinds) > 0 {
		kinds = filter.Kinds
	}
	for range feedReadRounds {
		if next >= target {
			return entries, next, nil
		}
		batch, err := f.cfg.Store.JournalSince(ctx, next, kinds, f.cfg.Batch)
		if err != nil {
			return nil, after, err
		}
		for _, e := range batch {
			if e.ID > target {
				return entries, target, nil
			}
			next = e.ID
			if filter.match(e) {
				entries = append(entries, e)
				if len(entries) == limit {
					return entries, next, nil
				}
			}
		}
		if len(batch) < f.cfg.Batch {
			// Everything up to target was committed before the feed read
			// it: nothing more lies between.
			return entries, target, nil
		}
	}
	return entries, next, nil
}

package relay

// FeedQueued is how many messages wait for the submit loop.
func FeedQueued(f *Feed) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queued
}

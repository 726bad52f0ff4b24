package sqlite

// ReleaseMemory hands back the memory a load spike left in the store's
// connection: it closes the idle pooled connection (the next statement opens
// a fresh one) and returns the pages SQLite's allocator freed to the system.
// Under a spike the connection's page cache and its cached prepared
// statements (the multi-row ones in every size the spike used) grew to ~9 MB
// of modernc.org/libc's heap and stayed there for the life of the connection;
// closing it frees them, but the allocator keeps up to 4 MiB per size class
// of freed regions mapped and committed for reuse, hence the trim. Meant for
// a quiet relay (ctirelay run calls it when idle after a spike): reopening
// costs a schema read, and the statements are prepared again on first use.
// A connection in use at the time is kept.
func (s *Store) ReleaseMemory() {
	s.db.SetMaxIdleConns(0) // closes the idle connection
	s.db.SetMaxIdleConns(1)
	trimAllocator()
}

package main

// The SQL dialects of this build: each registers itself with package store
// (store.Register). A new dialect is one more import here.
import (
	_ "github.com/ctirelay/ctirelay/store/postgres"
	_ "github.com/ctirelay/ctirelay/store/sqlite"
	_ "github.com/ctirelay/ctirelay/store/sqlserver"
)

package postgres

// IntakeLockKey is the advisory lock every writer of new inbox rows holds.
const IntakeLockKey = intakeLockKey

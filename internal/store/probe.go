package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Probe is what a start would find in the database at path, found
// without changing it: whether it exists, its schema version, and
// whether this build can use it (it migrates an older schema at start).
type Probe struct {
	Exists  bool
	Version int
}

// ProbeDatabase opens the database at path read-only, if it exists, and
// reads its schema version. A schema newer than this build knows is an
// error, as it is at start.
func ProbeDatabase(ctx context.Context, path string) (Probe, error) {
	if IsDatabaseURL(path) {
		return probePostgres(ctx, path)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return Probe{}, nil
	} else if err != nil {
		return Probe{}, fmt.Errorf("store: %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(path, roleReader))
	if err != nil {
		return Probe{}, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer db.Close()
	p := Probe{Exists: true}
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&p.Version); err != nil {
		return p, fmt.Errorf("store: %s: read the schema version: %w (is it a workspace-bot database?)", path, err)
	}
	if p.Version > SchemaVersion {
		return p, fmt.Errorf("store: %s: database schema %d is newer than this workspace-bot knows (%d): run a newer workspace-bot or point --data-dir elsewhere", path, p.Version, SchemaVersion)
	}
	return p, nil
}

// FreeSpace is the space free to an unprivileged writer on dir's disk.
func FreeSpace(dir string) (int64, error) { return statfsFree(dir) }

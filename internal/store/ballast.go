package store

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// BallastName is the file in the data dir that holds disk space for
// webhook deliveries: a build that fills the disk faster than anything
// can stop it still cannot take the room a delivery needs, since the
// store gives this file's space back the moment a write finds the disk
// full, and writes again.
const BallastName = "delivery-reserve"

// ballast holds size bytes of the disk, given back on a full disk and
// taken again once the disk has room.
type ballast struct {
	mu   sync.Mutex
	path string
	size int64
	held bool
	// tried is when taking it back was last tried: a full disk is looked
	// at again at most every few seconds, not on every delivery.
	tried time.Time
}

// DefaultBallast is the ballast's size: room for many deliveries (a
// delivery is at most 25 MB, most a few KB) while the build that filled
// the disk is stopped and its files removed.
const DefaultBallast = 32 << 20

// take writes the ballast file when the disk has room for it and the
// reserve beside it; it reports whether the ballast is held.
func (b *ballast) take(free func(string) (int64, error), reserve int64, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held || b.size <= 0 {
		return b.held
	}
	if !b.tried.IsZero() && now.Sub(b.tried) < 5*time.Second {
		return false
	}
	b.tried = now
	if n, err := free(filepath.Dir(b.path)); err != nil || n < b.size+reserve {
		return false
	}
	f, err := os.OpenFile(b.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return false
	}
	err = allocate(f, b.size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(b.path)
		return false
	}
	b.held = true
	return true
}

// give removes the ballast file; it reports whether there was one.
func (b *ballast) give() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tried = time.Time{}
	if !b.held {
		return false
	}
	b.held = false
	os.Remove(b.path)
	return true
}

// busy says whether err is SQLite finding the file locked by another
// connection.
func busy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// diskFull says whether err is SQLite finding the disk full.
func diskFull(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff
	return code == sqlite3.SQLITE_FULL || code == sqlite3.SQLITE_IOERR
}

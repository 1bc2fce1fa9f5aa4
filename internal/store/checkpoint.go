package store

import (
	"context"
	"database/sql"
	"time"
)

// Checkpointing copies committed pages from the WAL into the database
// file. SQLite would do it inside whichever commit crosses 1000 pages,
// stalling that commit's webhook acknowledgements for tens of
// milliseconds. Here the writer never checkpoints on its own
// (wal_autocheckpoint=0): a background goroutine checkpoints on its own
// connection in PASSIVE mode, which neither waits for nor blocks the
// writer.
//
// A passive checkpoint cannot restart the WAL: SQLite writes it from the
// top again only when a checkpoint has caught up completely as a write
// begins, which a steady stream of commits prevents, so under a flood the
// file would grow without bound. Past walRestartBytes, once the passive
// checkpoints have caught up, the commit loop itself runs a RESTART
// between two batches. A RESTART from any other connection would wait on
// the writer's lock in the busy handler's sleeps while holding off new
// writers, stalling every acknowledgement for hundreds of milliseconds.
const (
	checkpointEvery = 200 * time.Millisecond
	walRestartBytes = 128 << 20
	// restartGap is how many frames a RESTART may be left to copy.
	restartGap = 256
)

func (s *Store) checkpointLoop(db *sql.DB) {
	defer s.wg.Done()
	defer db.Close()
	t := time.NewTicker(s.checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		frames, done, err := checkpoint(db, "PASSIVE")
		// A failed checkpoint loses nothing (the pages stay in the WAL);
		// the next tick tries again.
		if err != nil || frames*pageSize < s.walRestartBytes || frames-done > restartGap {
			continue
		}
		restarted := make(chan struct{})
		select {
		case s.restart <- restarted:
			<-restarted
		case <-s.quit:
			return
		}
	}
}

// restartWAL runs on the commit loop, between batches.
func (s *Store) restartWAL() {
	checkpoint(s.w, "RESTART")
}

// checkpoint runs one checkpoint and returns the WAL's size and how much of
// it is in the database file, in frames.
func checkpoint(db *sql.DB, mode string) (frames, done int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy int
	err = db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &done)
	return frames, done, err
}

package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWALStaysBoundedUnderAFlood(t *testing.T) {
	// With a 2 MB limit, 40 MB of deliveries committed without a pause
	// must not grow the WAL past a few MB: the checkpointer catches up
	// and the commit loop restarts the WAL. Nothing committed may be lost.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	s, err := open(ctx, path, func(s *Store) {
		s.walRestartBytes = 2 << 20
		s.checkpointEvery = 5 * time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	payload := bytes.Repeat([]byte("x"), 20<<10)
	const n = 2000
	var next atomic.Int64
	var maxWAL atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(30 * time.Second)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= n || time.Now().After(deadline) {
					return
				}
				if _, err := s.AddDelivery(ctx, Delivery{ID: fmt.Sprint(i), Event: "pull_request", Payload: payload}); err != nil {
					t.Error(err)
					return
				}
				if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > maxWAL.Load() {
					maxWAL.Store(fi.Size())
				}
			}
		}()
	}
	wg.Wait()
	if next.Load() < n {
		t.Fatalf("only %d deliveries in 30s", next.Load())
	}
	if m := maxWAL.Load(); m > 16<<20 {
		t.Fatalf("WAL grew to %d MB while %d MB was written", m>>20, n*len(payload)>>20)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.CountDeliveries(ctx, DeliveryPending); err != nil || got != n {
		t.Fatalf("%d deliveries after reopen (%v), want %d", got, err, n)
	}
	d, err := s.GetDelivery(ctx, "0")
	if err != nil || !bytes.Equal(d.Payload, payload) {
		t.Fatalf("first delivery after reopen: %v", err)
	}
}

//go:build linux

package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// fullDisk mounts a tmpfs of size MiB (root only) and opens a store on
// it with reserve kept for deliveries.
func fullDisk(t *testing.T, size int, reserve int64) (*Store, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs; the ballast itself is tested through the service's disk-fill attack")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size)+"m"); err != nil {
		t.Fatalf("mount a tmpfs as root: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	s, err := Open(context.Background(), filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetLogReserve(reserve)
	return s, dir
}

// fill writes a file until the disk is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// A build that fills the data dir's disk faster than it can be stopped
// does not cost a delivery: the ballast's room takes it.
func TestBallastTakesDeliveriesOnAFullDisk(t *testing.T) {
	ctx := context.Background()
	payload := make([]byte, 256<<10)
	s, dir := fullDisk(t, 32, 16<<20)
	if _, err := os.Stat(filepath.Join(dir, BallastName)); err != nil {
		t.Fatalf("no ballast on a disk with room for it: %v", err)
	}
	fill(t, dir)
	// Side by side, so they commit in batches: each is stored, and each
	// is answered as new (none as a duplicate of itself after a retry).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "full-" + strconv.Itoa(i)
			if ok, err := s.AddDelivery(ctx, Delivery{ID: id, Event: "issue_comment", Payload: payload}); err != nil || !ok {
				t.Errorf("delivery %d on a full disk: stored as new %v, %v", i, ok, err)
			}
		}()
	}
	wg.Wait()
	if _, err := os.Stat(filepath.Join(dir, BallastName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the ballast is still there after the disk filled: %v", err)
	}
	// The disk is freed: the ballast is taken again.
	os.Remove(filepath.Join(dir, "fill"))
	s.ballast.mu.Lock()
	s.ballast.tried = s.ballast.tried.AddDate(0, 0, -1)
	s.ballast.mu.Unlock()
	if ok, err := s.AddDelivery(ctx, Delivery{ID: "after", Event: "issue_comment", Payload: payload}); err != nil || !ok {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, BallastName)); err != nil {
		t.Errorf("the ballast was not taken again once the disk had room: %v", err)
	}

	// Without a ballast the same fill costs the delivery: the control.
	bare, bareDir := fullDisk(t, 32, 0)
	fill(t, bareDir)
	var err error
	for i := 0; i < 4 && err == nil; i++ {
		_, err = bare.AddDelivery(ctx, Delivery{ID: "bare-" + strconv.Itoa(i), Event: "issue_comment", Payload: payload})
	}
	if err == nil {
		t.Error("deliveries were stored on a full disk without a ballast: this test shows nothing")
	}
}

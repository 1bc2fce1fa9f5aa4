package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
)

func TestAddDeliveryDedupes(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	d := Delivery{ID: "abc", Event: "pull_request", Action: "opened", Payload: []byte(`{"action":"opened"}`)}
	for i, want := range []bool{true, false, false} {
		inserted, err := s.AddDelivery(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if inserted != want {
			t.Fatalf("AddDelivery #%d inserted=%v, want %v", i, inserted, want)
		}
	}
	if n, err := s.CountDeliveries(ctx, ""); err != nil || n != 1 {
		t.Fatalf("CountDeliveries = %d %v, want 1", n, err)
	}
	got, err := s.GetDelivery(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if got.Event != d.Event || got.Action != d.Action || !bytes.Equal(got.Payload, d.Payload) || got.State != DeliveryPending || got.ReceivedAt.IsZero() {
		t.Fatalf("stored delivery = %+v", got)
	}
	if _, err := s.GetDelivery(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetDelivery(nope): %v, want ErrNotFound", err)
	}
	if _, err := s.AddDelivery(ctx, Delivery{Event: "ping"}); err == nil {
		t.Fatal("AddDelivery without id succeeded")
	}
}

func TestAddDeliveryConcurrentDuplicates(t *testing.T) {
	// Many goroutines adding overlapping ids land in shared batches: each
	// id must be reported inserted exactly once.
	s, _ := openTest(t)
	ctx := context.Background()
	const ids, copies = 50, 8
	var mu sync.Mutex
	inserted := map[string]int{}
	var wg sync.WaitGroup
	for c := 0; c < copies; c++ {
		for i := 0; i < ids; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("d-%d", i)
				ok, err := s.AddDelivery(ctx, Delivery{ID: id, Event: "pull_request", Payload: []byte("{}")})
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					inserted[id]++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(inserted) != ids {
		t.Fatalf("%d ids reported inserted, want %d", len(inserted), ids)
	}
	for id, n := range inserted {
		if n != 1 {
			t.Errorf("%s reported inserted %d times", id, n)
		}
	}
	if n, _ := s.CountDeliveries(ctx, DeliveryPending); n != ids {
		t.Fatalf("%d pending rows, want %d", n, ids)
	}
}

func TestClaimDeliveryOrderAndFinish(t *testing.T) {
	s, _ := openTest(t)
	clk := withClock(s)
	ctx := context.Background()
	if d, err := s.ClaimDelivery(ctx); d != nil || err != nil {
		t.Fatalf("ClaimDelivery on empty store = %v %v", d, err)
	}
	for _, id := range []string{"first", "second", "third"} {
		if _, err := s.AddDelivery(ctx, Delivery{ID: id, Event: "issue_comment", Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"first", "second"} {
		d, err := s.ClaimDelivery(ctx)
		if err != nil || d == nil {
			t.Fatalf("ClaimDelivery = %v %v", d, err)
		}
		if d.ID != want || d.State != DeliveryProcessing || d.Attempts != 1 {
			t.Fatalf("claimed %s state %s attempts %d, want %s processing 1", d.ID, d.State, d.Attempts, want)
		}
	}
	if err := s.FinishDelivery(ctx, "first", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDelivery(ctx, "second", errors.New("github down")); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDelivery(ctx, "missing", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FinishDelivery(missing): %v, want ErrNotFound", err)
	}
	first, _ := s.GetDelivery(ctx, "first")
	second, _ := s.GetDelivery(ctx, "second")
	if first.State != DeliveryDone {
		t.Errorf("first is %s, want done", first.State)
	}
	if second.State != DeliveryPending || second.Error != "github down" {
		t.Errorf("second is %s %q, want pending with the error", second.State, second.Error)
	}
	// The failed one waits out its retry delay; third goes first.
	if d, _ := s.ClaimDelivery(ctx); d == nil || d.ID != "third" {
		t.Fatalf("claimed %v, want third", d)
	}
	if d, _ := s.ClaimDelivery(ctx); d != nil {
		t.Fatalf("claimed %s before its retry delay", d.ID)
	}
	clk.advance(time.Hour)
	d, _ := s.ClaimDelivery(ctx)
	if d == nil || d.ID != "second" || d.Attempts != 2 {
		t.Fatalf("claimed %+v, want second on attempt 2", d)
	}
}

func TestFinishDeliveryGivesUpAfterMaxAttempts(t *testing.T) {
	s, _ := openTest(t)
	s.retryDelay = func(int) time.Duration { return 0 }
	ctx := context.Background()
	if _, err := s.AddDelivery(ctx, Delivery{ID: "x", Event: "pull_request", Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= DefaultMaxDeliveryAttempts; i++ {
		d, err := s.ClaimDelivery(ctx)
		if err != nil || d == nil {
			t.Fatalf("attempt %d: ClaimDelivery = %v %v", i, d, err)
		}
		if err := s.FinishDelivery(ctx, d.ID, fmt.Errorf("boom %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := s.GetDelivery(ctx, "x")
	if d.State != DeliveryFailed || d.Error != fmt.Sprintf("boom %d", DefaultMaxDeliveryAttempts) {
		t.Fatalf("after %d failures: %s %q, want failed", DefaultMaxDeliveryAttempts, d.State, d.Error)
	}
	if d, _ := s.ClaimDelivery(ctx); d != nil {
		t.Fatal("a failed delivery was claimed again")
	}
}

func TestConcurrentClaimsNeverShareARow(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	const n = 200
	for i := 0; i < n; i++ {
		if _, err := s.AddDelivery(ctx, Delivery{ID: fmt.Sprintf("d%03d", i), Event: "pull_request", Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.EnqueueRun(ctx, Run{Key: fmt.Sprintf("o/r#%d", i)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seenD, seenR := map[string]int{}, map[int64]int{}
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				d, err := s.ClaimDelivery(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				r, err := s.ClaimRun(ctx, time.Now().Add(time.Second))
				if err != nil {
					t.Error(err)
					return
				}
				if d == nil && r == nil {
					return
				}
				mu.Lock()
				if d != nil {
					seenD[d.ID]++
				}
				if r != nil {
					seenR[r.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seenD) != n || len(seenR) != n {
		t.Fatalf("claimed %d deliveries and %d runs, want %d each", len(seenD), len(seenR), n)
	}
	for id, c := range seenD {
		if c != 1 {
			t.Errorf("delivery %s claimed %d times", id, c)
		}
	}
	for id, c := range seenR {
		if c != 1 {
			t.Errorf("run %d claimed %d times", id, c)
		}
	}
}

func TestRequeueAfterCrash(t *testing.T) {
	// A process that dies mid-work leaves rows processing and running;
	// the next one puts them back.
	s, path := openTest(t)
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if _, err := s.AddDelivery(ctx, Delivery{ID: id, Event: "pull_request", Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	runID, _, err := s.EnqueueRun(ctx, Run{Key: "o/r#1", Changeset: &changeset.Changeset{Key: "o/r#1"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimDelivery(ctx); err != nil {
		t.Fatal(err)
	}
	d2, _ := s.ClaimDelivery(ctx)
	if err := s.FinishDelivery(ctx, d2.ID, nil); err != nil {
		t.Fatal(err)
	}
	if r, err := s.ClaimRun(ctx, time.Now()); err != nil || r == nil || r.ID != runID {
		t.Fatalf("ClaimRun = %v %v", r, err)
	}
	// Exhaust "c"'s attempts as if it killed the process every time.
	if _, err := s.w.Exec(`UPDATE deliveries SET state = 'processing', attempts = ? WHERE id = 'c'`, DefaultMaxDeliveryAttempts); err != nil {
		t.Fatal(err)
	}
	s.Close() // no Finish: the crash

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.RequeueInterrupted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 { // run, a back to pending, c failed
		t.Fatalf("RequeueInterrupted moved %d rows, want 3", n)
	}
	d, err := s.ClaimDelivery(ctx)
	if err != nil || d == nil || d.ID != "a" || d.Attempts != 2 {
		t.Fatalf("after restart claimed %+v %v, want a on attempt 2", d, err)
	}
	if c, _ := s.GetDelivery(ctx, "c"); c.State != DeliveryFailed {
		t.Fatalf("c is %s, want failed", c.State)
	}
	if b, _ := s.GetDelivery(ctx, "b"); b.State != DeliveryDone {
		t.Fatalf("b is %s, want done", b.State)
	}
	r, err := s.ClaimRun(ctx, time.Now())
	if err != nil || r == nil || r.ID != runID || r.Attempts != 2 || r.Changeset == nil || r.Changeset.Key != "o/r#1" {
		t.Fatalf("after restart claimed run %+v %v, want run %d on attempt 2", r, err, runID)
	}
}

func TestPruneDeliveries(t *testing.T) {
	s, _ := openTest(t)
	clk := withClock(s)
	ctx := context.Background()
	for _, id := range []string{"old-done", "old-pending"} {
		if _, err := s.AddDelivery(ctx, Delivery{ID: id, Event: "pull_request", Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := s.ClaimDelivery(ctx)
	if err := s.FinishDelivery(ctx, d.ID, nil); err != nil {
		t.Fatal(err)
	}
	clk.advance(48 * time.Hour)
	if _, err := s.AddDelivery(ctx, Delivery{ID: "new", Event: "pull_request", Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneDeliveries(ctx, clk.now().Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneDeliveries = %d %v, want 1", n, err)
	}
	if _, err := s.GetDelivery(ctx, "old-done"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old-done still there: %v", err)
	}
	if total, _ := s.CountDeliveries(ctx, ""); total != 2 {
		t.Fatalf("%d deliveries left, want 2", total)
	}
}

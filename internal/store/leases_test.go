package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/pgtest"
)

// replicas are two stores on one database, as two replicas of serve
// open it.
func replicas(t *testing.T) (a, b *Store) {
	t.Helper()
	a, path := openTest(t)
	b, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// Two stores on one database, as two replicas: a name one holds, the
// other cannot take until it is released or its lease runs out.
func TestClaimNameExcludesOtherOwners(t *testing.T) {
	a, b := replicas(t)
	ctx := context.Background()
	if a.Owner() == b.Owner() {
		t.Fatalf("two stores share the owner id %q", a.Owner())
	}
	claim := func(s *Store, name string, want bool) {
		t.Helper()
		if got, err := s.ClaimName(ctx, name); err != nil || got != want {
			t.Fatalf("%s claims %s: %v %v, want %v", s.Owner(), name, got, err, want)
		}
	}
	claim(a, "report o/a#1", true)
	claim(a, "report o/a#1", true) // its own: renewed
	claim(b, "report o/a#1", false)
	claim(b, "report o/b#2", true)
	if err := a.ReleaseName(ctx, "report o/a#1"); err != nil {
		t.Fatal(err)
	}
	claim(b, "report o/a#1", true)
	claim(a, "report o/a#1", false)
	// b dies: once its lease has run out, a may take what it held.
	if _, err := a.w.ExecContext(ctx, `UPDATE leases SET until = ? WHERE owner = ?`, time.Now().Add(-time.Second).UnixNano(), b.Owner()); err != nil {
		t.Fatal(err)
	}
	claim(a, "report o/a#1", true)
	claim(a, "report o/b#2", true)
}

// A replica's claims outlive it by its lease only: another replica
// leaves them alone while they are renewed, and puts them back once
// they ran out, to be claimed again as a new attempt.
func TestLeasesReturnADeadReplicasWork(t *testing.T) {
	a, b := replicas(t)
	ctx := context.Background()
	for _, id := range []string{"d1", "d2"} {
		if _, err := a.AddDelivery(ctx, Delivery{ID: id, Event: "push", Payload: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	runID, _, err := a.EnqueueRun(ctx, Run{Key: "o/r#1", Changeset: &changeset.Changeset{Key: "o/r#1"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := a.ClaimDelivery(ctx); err != nil || d == nil || d.ID != "d1" {
		t.Fatalf("a claims %+v %v, want d1", d, err)
	}
	if r, err := a.ClaimRun(ctx, time.Now()); err != nil || r == nil || r.ID != runID {
		t.Fatalf("a claims run %+v %v", r, err)
	}
	// b sees a's claims as taken.
	if d, err := b.ClaimDelivery(ctx); err != nil || d == nil || d.ID != "d2" {
		t.Fatalf("b claims %+v %v, want d2", d, err)
	}
	if r, err := b.ClaimRun(ctx, time.Now()); err != nil || r != nil {
		t.Fatalf("b claims run %+v %v while a builds it", r, err)
	}
	if n, err := b.RequeueExpired(ctx); err != nil || n != 0 {
		t.Fatalf("b requeued %d rows (%v) of a live replica", n, err)
	}
	if !onPostgres(t) {
		return // one process owns a SQLite file: its restart requeues all (TestRequeueAfterCrash)
	}
	if n, err := b.RequeueInterrupted(ctx); err != nil || n != 0 {
		t.Fatalf("b's start requeued %d rows (%v) of a live replica", n, err)
	}
	// a is killed: it renews nothing, and its leases run out.
	a.Close()
	past := time.Now().Add(-time.Second).UnixNano()
	if _, err := b.w.ExecContext(ctx, `UPDATE runs SET lease_until = ? WHERE owner = ?`, past, a.Owner()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.w.ExecContext(ctx, `UPDATE deliveries SET lease_until = ? WHERE owner = ?`, past, a.Owner()); err != nil {
		t.Fatal(err)
	}
	if n, err := b.RequeueExpired(ctx); err != nil || n != 2 {
		t.Fatalf("b requeued %d rows (%v), want a's run and delivery", n, err)
	}
	if d, err := b.ClaimDelivery(ctx); err != nil || d == nil || d.ID != "d1" || d.Attempts != 2 {
		t.Fatalf("b claims %+v %v, want d1 on its second attempt", d, err)
	}
	if r, err := b.ClaimRun(ctx, time.Now()); err != nil || r == nil || r.ID != runID || r.Attempts != 2 {
		t.Fatalf("b claims run %+v %v, want run %d on its second attempt", r, err, runID)
	}
}

// The lease keeper renews what its store holds.
func TestLeasesAreRenewed(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, err := s.AddDelivery(ctx, Delivery{ID: "d", Event: "push", Payload: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimDelivery(ctx); err != nil {
		t.Fatal(err)
	}
	var before int64
	if err := s.r.QueryRowContext(ctx, `SELECT lease_until FROM deliveries WHERE id = 'd'`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond) // the clock must move for the lease to
	if err := s.RenewLeases(ctx); err != nil {
		t.Fatal(err)
	}
	var after int64
	if err := s.r.QueryRowContext(ctx, `SELECT lease_until FROM deliveries WHERE id = 'd'`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("lease %d not renewed (was %d)", after, before)
	}
}

// Pruning is one replica's at a time: while another holds it, Prune
// leaves everything; then it prunes.
func TestPruneIsOneReplicaAtATime(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Now()
	if _, err := s.AddDelivery(ctx, Delivery{ID: "old", Event: "push", Payload: []byte("{}"), ReceivedAt: now.Add(-DeliveryRetention - time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimDelivery(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDelivery(ctx, "old", nil); err != nil {
		t.Fatal(err)
	}
	if onPostgres(t) {
		conn, err := s.w.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, pruneLock); err != nil {
			t.Fatal(err)
		}
		if d, r, err := s.Prune(ctx, now); err != nil || d != 0 || r != 0 {
			t.Fatalf("Prune while another replica prunes: %d %d %v, want nothing", d, r, err)
		}
		if _, err := s.GetDelivery(ctx, "old"); err != nil {
			t.Fatalf("the delivery went while another replica pruned: %v", err)
		}
		conn.ExecContext(ctx, `SELECT pg_advisory_unlock(?)`, pruneLock)
		conn.Close()
	}
	if d, _, err := s.Prune(ctx, now); err != nil || d != 1 {
		t.Fatalf("Prune: %d deliveries, %v; want 1", d, err)
	}
}

// Replicas starting together on an empty database migrate it once: each
// step runs under a lock, and a replica that finds it done moves on.
func TestStoresOpenTogether(t *testing.T) {
	first, path := openTest(t)
	first.Close()
	if !onPostgres(t) {
		path = filepath.Join(t.TempDir(), FileName) // a new file, not first's
	} else {
		path = pgtest.DSN(t)
	}
	ctx := context.Background()
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			s, err := Open(ctx, path)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := ProbeDatabase(ctx, path)
	if err != nil || !p.Exists || p.Version != SchemaVersion {
		t.Fatalf("probe after opening together: %+v %v, want schema %d", p, err, SchemaVersion)
	}
}

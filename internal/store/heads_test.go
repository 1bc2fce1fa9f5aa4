package store

import (
	"context"
	"testing"
	"time"
)

func TestHeadsFirstSeenAndApproved(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v1 := HeadKey{PR: "Acme/Lib#2", SHA: "AAA"}
	v2 := HeadKey{PR: "acme/lib#2", SHA: "bbb"}

	got, err := s.SeeHeads(ctx, t0, v1)
	if err != nil || !got[v1].FirstSeen.Equal(t0) || got[v1].ApprovedBy != "" {
		t.Fatalf("first sighting: %+v %v", got, err)
	}
	// Seen again later, in any spelling: the first sighting stands.
	got, err = s.SeeHeads(ctx, t0.Add(time.Hour), HeadKey{PR: "acme/lib#2", SHA: "aaa"}, v2)
	if err != nil || !got[HeadKey{PR: "acme/lib#2", SHA: "aaa"}].FirstSeen.Equal(t0) || !got[v2].FirstSeen.Equal(t0.Add(time.Hour)) {
		t.Fatalf("second sighting: %+v %v", got, err)
	}

	if err := s.ApproveHeads(ctx, "alice", t0.Add(time.Minute), v1); err != nil {
		t.Fatal(err)
	}
	if err := s.ApproveHeads(ctx, "bob", t0.Add(2*time.Minute), v1); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SeeHeads(ctx, t0.Add(2*time.Hour), v1, v2)
	if h := got[v1]; h.ApprovedBy != "alice" || !h.ApprovedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("approved head %+v, want alice's first approval", h)
	}
	if h := got[v2]; h.ApprovedBy != "" {
		t.Errorf("a head pushed later is approved: %+v", h)
	}
	if err := s.ApproveHeads(ctx, "alice", t0, HeadKey{PR: "acme/lib#2", SHA: "ccc"}); err == nil {
		t.Error("a head never seen was approved")
	}
	if err := s.ApproveHeads(ctx, "", t0, v2); err == nil {
		t.Error("an approval by nobody was recorded")
	}
	if _, err := s.SeeHeads(ctx, t0, HeadKey{PR: "acme/lib#2"}); err == nil {
		t.Error("a head without a SHA was recorded")
	}

	// Pruned a month on, a head seen again is a new sighting.
	if n, err := s.PruneHeads(ctx, t0.Add(90*time.Minute)); err != nil || n != 2 {
		t.Fatalf("PruneHeads = %d, %v; want 2", n, err)
	}
	got, _ = s.SeeHeads(ctx, t0.Add(3*time.Hour), v1)
	if h := got[v1]; !h.FirstSeen.Equal(t0.Add(3*time.Hour)) || h.ApprovedBy != "" {
		t.Errorf("after pruning: %+v", h)
	}
}

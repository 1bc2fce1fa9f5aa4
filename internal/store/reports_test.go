package store

import (
	"context"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/lifecycle"
)

func TestReportsReplaceAndAreSentOnce(t *testing.T) {
	s, _ := openTest(t)
	clk := withClock(s)
	ctx := context.Background()
	if err := s.AddReports(ctx,
		Report{Run: 1, Target: "state o/a@1 ci", Kind: "state", Payload: []byte(`"queued"`)},
		Report{Run: 1, Target: "state o/b@2 ci", Kind: "state", Payload: []byte(`"queued"`)},
	); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Second)
	if err := s.AddReports(ctx, Report{Run: 1, Target: "state o/a@1 ci", Kind: "state", Payload: []byte(`"running"`)}); err != nil {
		t.Fatal(err)
	}
	r, err := s.PendingReport(ctx, "state o/a@1 ci")
	if err != nil || r == nil || string(r.Payload) != `"running"` || r.State != ReportPending {
		t.Fatalf("pending report of o/a = %+v %v, want the newer one", r, err)
	}
	due, err := s.DueReports(ctx, clk.now(), 0, 10)
	if err != nil || len(due) != 2 || due[0].Target != "state o/b@2 ci" || due[1].ID != r.ID {
		t.Fatalf("due = %+v %v, want o/b's then o/a's newer report", due, err)
	}
	if b, _ := s.ReportBacklog(ctx); b.Pending != 2 || !b.Oldest.Equal(clk.now().Add(-time.Second)) {
		t.Fatalf("backlog %+v", b)
	}

	// A failed send waits for its retry; giving up ends it.
	if err := s.ReportFailed(ctx, r.ID, "502 Bad Gateway", clk.now().Add(time.Minute), false); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueReports(ctx, clk.now(), 0, 10); len(due) != 1 || due[0].Target != "state o/b@2 ci" {
		t.Fatalf("due after a failure = %+v, want only o/b's", due)
	}
	if all, _ := s.DueReports(ctx, time.Time{}, due[0].ID, 10); len(all) != 1 || all[0].ID != r.ID || all[0].Attempts != 1 || all[0].Error != "502 Bad Gateway" {
		t.Fatalf("every pending report after o/b's = %+v", all)
	}
	if next, ok, err := s.NextReportDue(ctx); err != nil || !ok || next.After(clk.now()) {
		t.Fatalf("NextReportDue = %v %v %v", next, ok, err)
	}
	if err := s.ReportSent(ctx, due[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.ReportFailed(ctx, r.ID, "422 No commit found", time.Time{}, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.ReportBacklog(ctx); b.Pending != 0 || !b.Oldest.IsZero() {
		t.Fatalf("backlog %+v, want none", b)
	}
	if _, ok, _ := s.NextReportDue(ctx); ok {
		t.Fatal("a report is due with none pending")
	}
	// Marking a report that is no longer pending changes nothing.
	if err := s.ReportSent(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	var state string
	if err := s.r.QueryRow(`SELECT state FROM reports WHERE id = ?`, r.ID).Scan(&state); err != nil || state != ReportFailed {
		t.Fatalf("given-up report is %q %v", state, err)
	}
	clk.advance(time.Hour)
	if n, err := s.PruneReports(ctx, clk.now()); err != nil || n != 3 {
		t.Fatalf("pruned %d %v, want the replaced, sent and failed reports", n, err)
	}
}

// A result is never recorded without the reports it owes: both are one
// transaction.
func TestFinishRunRecordsItsReportsOrNothing(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	id, _, err := s.EnqueueRun(ctx, Run{Key: "o/a#1", Heads: "r1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimRun(ctx, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	res := &ci.Result{Result: ci.Success}
	bad := []Report{{Run: id, Target: "state o/a@1 ci", Kind: "state", Payload: []byte("{}")}, {Run: id}}
	if err := s.FinishRun(ctx, id, lifecycle.Success, res, bad...); err == nil {
		t.Fatal("FinishRun with an unwritable report succeeded")
	}
	if r, _ := s.GetRun(ctx, id); r.State != lifecycle.Building || r.Result != nil {
		t.Fatalf("run after a failed FinishRun: %+v, want still running", r)
	}
	if b, _ := s.ReportBacklog(ctx); b.Pending != 0 {
		t.Fatalf("%d reports written by a failed FinishRun", b.Pending)
	}
	if err := s.FinishRun(ctx, id, lifecycle.Success, res, bad[0]); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.GetRun(ctx, id); r.Ended != lifecycle.Success {
		t.Fatalf("run %+v", r)
	}
	if b, _ := s.ReportBacklog(ctx); b.Pending != 1 {
		t.Fatalf("%d reports owed, want 1", b.Pending)
	}
	first, _ := s.PendingReport(ctx, "state o/a@1 ci")
	// A run finished already writes no second set of reports.
	if err := s.FinishRun(ctx, id, lifecycle.Failure, res, bad[0]); err == nil {
		t.Fatal("second FinishRun succeeded")
	}
	if r, _ := s.PendingReport(ctx, "state o/a@1 ci"); r == nil || first == nil || r.ID != first.ID {
		t.Fatalf("pending report %+v, want the first", r)
	}
}

func TestCheckRunRecords(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, ok, err := s.CheckRun(ctx, "O/A", "abc", "ci"); ok || err != nil {
		t.Fatalf("unknown check run: %v %v", ok, err)
	}
	if err := s.SetCheckRun(ctx, CheckRunRecord{Repo: "O/A", SHA: "abc", Name: "ci", ID: 7, Run: 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckRun(ctx, CheckRunRecord{Repo: "o/a", SHA: "abc", Name: "ci", ID: 7, Run: 3, Completed: true}); err != nil {
		t.Fatal(err)
	}
	if c, ok, err := s.CheckRun(ctx, "o/A", "abc", "ci"); !ok || err != nil || c.ID != 7 || c.Run != 3 || !c.Completed {
		t.Fatalf("check run %+v %v %v", c, ok, err)
	}
}

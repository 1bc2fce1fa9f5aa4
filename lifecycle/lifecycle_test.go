package lifecycle

import (
	"testing"

	"github.com/provide-io/workspace-bot/internal/exitcode"
)

func TestOverallRanksOnce(t *testing.T) {
	for _, tc := range []struct {
		in   []Result
		want Result
	}{
		{nil, Success},
		{[]Result{Success, Success}, Success},
		{[]Result{Success, Skipped}, Failure},
		{[]Result{Failure, Skipped}, Failure},
		{[]Result{Cancelled, Failure}, Failure},
		{[]Result{Failure, Cancelled}, Failure},
		{[]Result{Cancelled, Success}, Cancelled},
		{[]Result{Failure, Error}, Error},
		{[]Result{Error, Cancelled}, Error},
		{[]Result{Superseded, Cancelled}, Cancelled},
	} {
		if got := Overall(tc.in...); got != tc.want {
			t.Errorf("Overall(%v) = %s, want %s", tc.in, got, tc.want)
		}
		// The ranking does not depend on the order results arrive in.
		rev := make([]Result, len(tc.in))
		for i, r := range tc.in {
			rev[len(tc.in)-1-i] = r
		}
		if got := Overall(rev...); got != tc.want {
			t.Errorf("Overall(%v) = %s, want %s", rev, got, tc.want)
		}
	}
}

// Every state and result shows consistently everywhere: a check run
// completes exactly when the commit status is final, and the exit code
// is 0 exactly for success or a run not done.
func TestShowIsConsistent(t *testing.T) {
	for _, tc := range []struct {
		st                        State
		res                       Result
		status, check, conclusion string
		exit                      int
	}{
		{Queued, "", "pending", "queued", "", exitcode.OK},
		{Waiting, "", "pending", "queued", "", exitcode.OK},
		{Building, "", "pending", "in_progress", "", exitcode.OK},
		{Done, Success, "success", "completed", "success", exitcode.OK},
		{Done, Failure, "failure", "completed", "failure", exitcode.Failed},
		{Done, Error, "error", "completed", "failure", exitcode.Infra},
		{Done, Cancelled, "error", "completed", "cancelled", exitcode.Failed},
		{Done, Superseded, "error", "completed", "cancelled", exitcode.Failed},
		{Done, "", "error", "completed", "failure", exitcode.Infra},
	} {
		s := Show(tc.st, tc.res)
		if s.Status != tc.status || s.CheckStatus != tc.check || s.CheckConclusion != tc.conclusion || s.Exit != tc.exit {
			t.Errorf("Show(%s, %s) = %+v", tc.st, tc.res, s)
		}
		if s.Word == "" || s.Short == "" || s.Icon == "" || s.Output == "" {
			t.Errorf("Show(%s, %s) leaves a place with nothing to show: %+v", tc.st, tc.res, s)
		}
	}
}

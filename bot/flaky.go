package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/store"
)

// Flakes remember which tests failed in which runs, to tell a flaky test
// from a broken one (*store.Store is one).
type Flakes interface {
	RecordTests(ctx context.Context, run int64, heads string, suites []store.Suite) (map[string]store.FlakyMark, error)
	KnownFlaky(ctx context.Context, suites []store.Suite) (map[string]bool, error)
}

// onlyFlakyFailed says whether every step of res that failed is a test
// step whose report named every failure, and every one of those tests
// is held as flaky: then running again may pass, and nothing else in the
// run is known to be broken.
func (b *Bot) onlyFlakyFailed(ctx context.Context, res *ci.Result) bool {
	if b.opt.Flaky == nil || res.Result != ci.Failure {
		return false
	}
	suites := map[string]store.Suite{}
	for _, su := range testSuites(res) {
		suites[su.Name] = su
	}
	var failed []store.Suite
	for _, s := range res.Steps {
		if s.Result != ci.Failure {
			continue
		}
		su, ok := suites[s.Title()]
		if !ok || !su.Complete || len(su.Failed) == 0 {
			return false
		}
		failed = append(failed, su)
	}
	if len(failed) == 0 {
		return false
	}
	known, err := b.opt.Flaky.KnownFlaky(ctx, failed)
	if err != nil {
		b.logger(ctx).WithError(err).Warn("reading flaky tests failed: the run is not retried")
		return false
	}
	for _, su := range failed {
		for _, t := range su.Failed {
			if !known[store.FlakyKey(su.Name, t)] {
				return false
			}
		}
	}
	return true
}

// testHeads names what a run tested: every checkout's head and, in merge
// mode, the base it was merged onto. Two runs with the same heads ran the
// same code.
func testHeads(res *ci.Result) string {
	parts := make([]string, 0, len(res.Siblings))
	for _, s := range res.Siblings {
		parts = append(parts, s.Name+"@"+s.SHA+"+"+s.BaseSHA)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// testSuites are the steps of res that reported tests, as the store
// keeps them. A suite is complete when every failing test of it is named:
// nothing was left out at a limit, no report was refused, and the step
// ran to its end.
func testSuites(res *ci.Result) []store.Suite {
	var out []store.Suite
	for _, s := range res.Steps {
		if s.Tests == nil {
			continue
		}
		su := store.Suite{Name: s.Title(), Complete: s.Tests.Omitted == 0 && len(s.Tests.Problems) == 0 &&
			(s.Result == ci.Success || s.Result == ci.Failure)}
		for _, c := range s.Tests.Failures {
			su.Failed = append(su.Failed, c.ID)
		}
		out = append(out, su)
	}
	return out
}

// flakyMarks records run's tests and says which of its failing tests are
// known to be flaky. Without a store, or when it fails, none are: a
// failure is then shown as it is.
func (b *Bot) flakyMarks(ctx context.Context, run int64, res *ci.Result) map[string]store.FlakyMark {
	if b.opt.Flaky == nil || run == 0 || res == nil || len(res.Siblings) == 0 {
		return nil
	}
	suites := testSuites(res)
	if len(suites) == 0 {
		return nil
	}
	marks, err := b.opt.Flaky.RecordTests(ctx, run, testHeads(res), suites)
	if err != nil {
		b.logger(ctx).WithError(err).Warn("recording the run's tests failed: flaky tests are not marked")
		return nil
	}
	return marks
}

// flakyWords is how a summary marks a failure of a test known to be flaky.
func flakyWords(m store.FlakyMark) string {
	return fmt.Sprintf("known flaky (failed %d of the last %d runs at the same heads)", m.Failed, m.Runs)
}

// flakyRetryLine is the log's line for the nth of retry runs again
// ([workspace.ci].retry_flaky), built here or on a runner.
func flakyRetryLine(n, retry int) string {
	return fmt.Sprintf("\n--- every failing test is known to be flaky: running again (%d of %d, [workspace.ci].retry_flaky)\n", n, retry)
}

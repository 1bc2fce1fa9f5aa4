package bot

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/ci/junit"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// seqBuilder returns its results in turn, the last one from then on.
type seqBuilder struct {
	mu    sync.Mutex
	res   []*ci.Result
	calls int
}

func (s *seqBuilder) Run(_ context.Context, req ci.Request) (*ci.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := *s.res[min(s.calls, len(s.res)-1)]
	s.calls++
	return &r, nil
}

// failedAt is a run whose workspace test failed at the tests named.
func failedAt(tests ...string) *ci.Result {
	rep := &junit.Report{Passed: 5, Failed: len(tests)}
	for _, id := range tests {
		rep.Failures = append(rep.Failures, junit.Case{ID: id})
	}
	return &ci.Result{Result: ci.Failure, Siblings: []ci.SiblingResult{{Name: "core", SHA: "c1"}},
		Steps: []ci.StepResult{{Name: "test", Index: 1, Result: ci.Failure, Tests: rep}}}
}

// TestRetryFlaky: with [workspace.ci].retry_flaky, a run that failed
// only at tests known to be flaky is run again, and the summary says so;
// a failure of any other test, or without the setting, is not.
func TestRetryFlaky(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	// flaky failed, then passed, at the same heads: held as flaky.
	for i, failed := range [][]string{{"t::flaky"}, nil} {
		id, _, err := h.st.EnqueueRun(ctx, store.Run{Key: "seed" + string(rune('a'+i)), Heads: "h"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.st.RecordTests(ctx, id, testHeads(failedAt()), []store.Suite{{Name: "test workspace", Failed: failed, Complete: true}}); err != nil {
			t.Fatal(err)
		}
	}
	passed := &ci.Result{Result: ci.Success}
	for _, c := range []struct {
		name    string
		retry   int
		first   *ci.Result
		builds  int
		result  lifecycle.Result
		retried int
	}{
		{"flaky only, retried once", 1, failedAt("t::flaky"), 2, ci.Success, 1},
		{"another test failed too", 1, failedAt("t::flaky", "t::broken"), 1, ci.Failure, 0},
		{"not configured", 0, failedAt("t::flaky"), 1, ci.Failure, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &seqBuilder{res: []*ci.Result{c.first, passed}}
			opt := h.bot.opt
			opt.Builder, opt.Flaky = b, h.st
			bot, err := New(opt)
			if err != nil {
				t.Fatal(err)
			}
			cfg := *h.cfg
			cfg.Workspace.CI.RetryFlaky = c.retry
			p := NewPlan(&ConfigFile{Config: &cfg, Name: "wrknv.toml"}, &changeset.Changeset{Key: "k"})
			var log bytes.Buffer
			o := bot.Build(ctx, p, &log, nil)
			if b.calls != c.builds || o.Result.Result != c.result || o.Result.RetriedFlaky != c.retried {
				t.Fatalf("builds %d, result %s, retried %d; want %d, %s, %d\n%s", b.calls, o.Result.Result, o.Result.RetriedFlaky, c.builds, c.result, c.retried, log.String())
			}
			if c.retried > 0 {
				if !strings.Contains(log.String(), "every failing test is known to be flaky: running again (1 of 1") {
					t.Errorf("the log does not say why it ran again:\n%s", log.String())
				}
				body, err := RenderSummary(bot.summary(p, o))
				if err != nil || !strings.Contains(body, "Run 1 more time: every failing test was known to be flaky") {
					t.Errorf("the summary does not say the run was run again (%v):\n%s", err, body)
				}
			}
		})
	}
}

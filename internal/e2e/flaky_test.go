package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A test that fails, then passes on /workspace retest at the same heads,
// is held as flaky: its next failure is marked in the summary with how
// often it failed there, and /metrics counts it.
func TestFlakyTestMarkedAfterARetest(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	// What the test does next is set here, outside the build, where the
	// step (any user, in a sandbox with a /tmp of its own) can read it.
	dir, err := os.MkdirTemp("/var/tmp", "workspace-bot-flaky-")
	if err != nil {
		t.Skipf("no directory the sandbox shows: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	outcome := filepath.Join(dir, "outcome")
	set := func(s string) {
		if err := os.WriteFile(outcome, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := `if [ "$(cat ` + outcome + `)" = pass ]; then result=""; else result='<failure message="timed out waiting for the socket">../lib/check.sh:2: TimeoutError</failure>'; fi
printf '<testsuite><testcase classname="lib" name="test_racy">%s</testcase></testsuite>' "$result" > "$WORKSPACE_REPORTS/lib.xml"
[ "$(cat ` + outcome + `)" = pass ]
`
	ms := w.openFeature("racy", map[string]map[string]string{"lib": {"check.sh": check}})
	lib := ms[1]
	head := w.head(lib.repo, lib.n)

	set("fail")
	w.send("pull_request", w.prPayload("opened", lib.repo, lib.n))
	w.waitState(lib.repo, head, "failure")
	first := w.status(lib.repo, head).TargetURL

	retest := func(state string) {
		t.Helper()
		before := w.status(lib.repo, head).TargetURL
		p, _ := w.comment(lib.repo, lib.n, "alice", "MEMBER", "/workspace retest")
		w.send("issue_comment", p)
		w.waitFor("the retest's "+state, func() bool {
			st := w.status(lib.repo, head)
			return st.State == state && st.TargetURL != before && st.TargetURL != first
		})
	}
	set("pass")
	retest("success")
	set("fail")
	retest("failure")
	const mark = "known flaky (failed 2 of the last 3 runs at the same heads)"
	w.waitFor("the flaky mark in the summary", func() bool {
		sums := w.summaries(lib.repo, lib.n)
		return len(sums) == 1 && strings.Contains(sums[0].Body, mark)
	})
	if sum := w.summaries(lib.repo, lib.n)[0].Body; !strings.Contains(sum, "`lib::test_racy` at `check.sh:2` in lib: timed out waiting for the socket (**"+mark+"**)") {
		t.Errorf("the summary does not mark the failing test:\n%s", sum)
	}
	if code, metrics := w.page("/metrics"); code != 200 || !strings.Contains(metrics, "\nworkspace_bot_flaky_tests 1\n") {
		t.Errorf("/metrics (%d) does not count the flaky test:\n%s", code, metrics)
	}
}

package bot

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func testChangeset() *changeset.Changeset {
	pr := func(repo string, n int, sha, base string, fork bool) *changeset.PR {
		return &changeset.PR{Repo: repo, Number: n, HeadSHA: sha, BaseRef: base, Fork: fork,
			URL: "https://github.example/" + repo + "/pull/" + strconv.Itoa(n)}
	}
	return &changeset.Changeset{
		Key: "acme/app#3,acme/core#1,acme/lib#2",
		Members: []changeset.Member{
			{PR: pr("acme/app", 3, "3333333333333333333333333333333333333333", "main", false), Sibling: "app"},
			{PR: pr("acme/core", 1, "1111111111111111111111111111111111111111", "main", false), Sibling: "core"},
			{PR: pr("acme/lib", 2, "2222222222222222222222222222222222222222", "develop", true), Sibling: "lib"},
		},
	}
}

func TestSummaryGolden(t *testing.T) {
	cs := testChangeset()
	steps := []ci.StepResult{
		{Name: "checkout", Result: ci.Success, DurationMS: 1200},
		{Name: "setup", Sibling: "core", Command: "make install", Result: ci.Success, DurationMS: 350},
		{Name: "test", Command: "sh run-tests.sh", Result: ci.Failure, DurationMS: 2041,
			LogTail: "ok 1 core\nnot ok 2 lib ```injected```\nFAIL"},
	}
	cases := map[string]Summary{
		"summary_failure": {
			Context: "workspace/integration", Command: "/workspace", State: ci.Failure,
			Headline: "failed at test", RunURL: "https://bot.example/runs/7", Key: cs.Key,
			Members: summaryMembers(cs), Steps: steps, Failed: (&ci.Result{Steps: steps}).FirstFailure(),
		},
		"summary_success": {
			Context: "workspace/integration", Command: "/workspace", State: ci.Success,
			Headline: "passed", RunURL: "https://bot.example/runs/8", Key: cs.Key,
			Members: summaryMembers(cs), Steps: steps[:2],
		},
		"summary_resolution_error": {
			Context: "workspace/integration", Command: "/workspace", State: ci.Error,
			Headline: "could not resolve the changeset", Key: "acme/app#3",
			Members: summaryMembers(&changeset.Changeset{Members: cs.Members[:1]}),
			Problem: "acme/zzz#9 (Depends-On in acme/app#3): repository acme/zzz is not in the workspace",
			Fix:     "edit the Depends-On lines of the PR body, then comment `/workspace test`",
		},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := RenderSummary(s)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, SummaryMarker+"\n") {
				t.Fatalf("summary does not start with the marker:\n%s", got)
			}
			golden(t, name, got)
		})
	}
}

func TestFenceOutrunsBackticks(t *testing.T) {
	got := fence("a ```` b")
	if !strings.HasPrefix(got, "`````\n") || !strings.HasSuffix(got, "\n`````") {
		t.Fatalf("fence = %q", got)
	}
}

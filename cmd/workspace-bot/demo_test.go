package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDemo(t *testing.T) {
	// A guard against a hang, not a measure of speed: on a loaded
	// machine the demo's real processes take what they take.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"demo"}, &out, &errb)
	got := out.String()
	if code != exitOK {
		t.Fatalf("demo exited %d\n%s\n%s", code, got, errb.String())
	}
	for _, re := range []string{
		// The linked pair passes on both PRs, from one coalesced run.
		`(?m)^   demo-org/greeting#1\n     ✔ workspace/integration success — passed: 2 PRs`,
		`(?m)^   demo-org/hello-cli#1\n     ✔ workspace/integration success — passed: 2 PRs`,
		`details: http://127\.0\.0\.1:\d+/runs/1\n`,
		// The untested change fails at the integration test, with its log tail.
		`(?m)^   demo-org/banner#1\n     ✘ workspace/integration failure — failed at test: sh tests/integration\.sh`,
		`│ FAIL: expected '\*\*\* Hello, world! \*\*\*'`,
		// The comment is acknowledged and runs the changeset again.
		`reactions on the comment: \[\+1\]`,
		`details: http://127\.0\.0\.1:\d+/runs/3\n     summary comment edited in place \(1 edit`,
		// The rename lands as one, in order, and is proven.
		`(?m)^   demo-org/greeting#1 merged as [0-9a-f]{40} onto main\n   demo-org/hello-cli#1 merged as [0-9a-f]{40} onto main\n`,
		`the bot's comment on both: ✅ demo-org/greeting#1,demo-org/hello-cli#1 landed as tested`,
		`/runs/1  success   demo-org/greeting#1,demo-org/hello-cli#1`,
		`/runs/2  failure   demo-org/banner#1`,
	} {
		if !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("demo output lacks %s\n%s", re, got)
		}
	}
	if strings.Count(got, "202 Accepted") != 5 {
		t.Errorf("want 5 accepted webhooks:\n%s", got)
	}
	if errb.Len() > 0 {
		t.Errorf("the demo logged warnings:\n%s", errb.String())
	}
}

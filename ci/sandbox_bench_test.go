package ci

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/workspace"
)

// BenchmarkSandbox measures what the sandbox costs a warm 14-sibling
// test: warm mirrors, pinned SHAs (nothing fetched), a warm build root
// reused by trusted runs, a setup step per sibling and a workspace test
// that reads every checkout with git (through the mirrors' objects, which
// the sandbox binds read-only). Every iteration runs the same request
// with the sandbox off and on, in alternating order, so the ratio
// compares like with like.
//
// Two kinds of steps: "git" steps do next to nothing (a shell, git, ls),
// so the sandbox's cost is all there is to see; "python" steps each start
// an interpreter and import what a test runner does, the least a pip or
// pytest step costs.
func BenchmarkSandbox(b *testing.B) {
	if err := SandboxAvailable(); err != nil {
		b.Skip("no sandbox on this machine:", err)
	}
	b.Run("git", func(b *testing.B) {
		benchSandbox(b, "git rev-parse HEAD > /dev/null && ls -R src > /dev/null",
			`for d in ../sib*; do git -C "$d" log --oneline -1 > /dev/null || exit 1; done`)
	})
	b.Run("python", func(b *testing.B) {
		// The interpreter itself, not a version manager's shim (pyenv's
		// takes a lock that parallel steps queue on, outside a sandbox).
		out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		if err != nil {
			b.Skip("no python3 on PATH")
		}
		py := strings.TrimSpace(string(out))
		benchSandbox(b, py+" -c 'import unittest, json, subprocess'", py+" -c 'import unittest, json, subprocess, sqlite3'")
	})
}

func benchSandbox(b *testing.B, setup, test string) {
	tmp := b.TempDir()
	remote := filepath.Join(tmp, "remote")
	ws := filepath.Join(tmp, "ws")
	os.MkdirAll(ws, 0o755)
	benchRemotes(b, remote)
	srv := httptest.NewServer(gitfixture.Handler(remote))
	defer srv.Close()
	cfg := &workspace.Config{File: filepath.Join(ws, "wrknv.toml"), Workspace: workspace.Workspace{
		Name: "ws", Layers: workspace.DefaultLayers,
		CI: workspace.CI{Timeout: 10 * time.Minute, Checkout: workspace.CheckoutMerge, Test: []string{test}},
	}}
	for i := 0; i < benchSiblings; i++ {
		n := fmt.Sprintf("sib%02d", i)
		cfg.Siblings = append(cfg.Siblings, workspace.Sibling{Name: n, Path: "../" + n, Repo: srv.URL + "/o/" + n + ".git",
			Layer: "foundation", Setup: []string{setup}})
	}
	os.WriteFile(cfg.File, []byte("# benchmark\n"), 0o644)

	ctx := context.Background()
	data := filepath.Join(tmp, "data")
	runners := map[SandboxMode]*Runner{
		SandboxOff:      {DataDir: data, Sandbox: SandboxOff, Slots: 1},
		SandboxRequired: {DataDir: data, Sandbox: SandboxRequired, Slots: 1},
	}
	warm, err := runners[SandboxOff].Run(ctx, Request{Config: cfg, Trusted: true})
	if err != nil || warm.Result != Success {
		b.Fatalf("warming: %v %+v", err, warm)
	}
	pins := map[string]Pin{}
	for _, s := range warm.Siblings {
		pins[s.Name] = Pin{SHA: s.SHA}
	}
	type total struct {
		run, steps time.Duration
		n          int
	}
	sums := map[SandboxMode]*total{SandboxOff: {}, SandboxRequired: {}}
	once := func(mode SandboxMode) {
		start := time.Now()
		res, err := runners[mode].Run(ctx, Request{Config: cfg, Pins: pins, Trusted: true})
		d := time.Since(start)
		if err != nil || res.Result != Success {
			b.Fatalf("%s: %v %+v", mode, err, res)
		}
		s := sums[mode]
		s.run += d
		for _, st := range res.Steps {
			if st.Name != "checkout" {
				s.steps += time.Duration(st.DurationMS) * time.Millisecond
				s.n++
			}
		}
	}
	once(SandboxRequired) // warm the page cache for the init too
	sums[SandboxRequired] = &total{}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			once(SandboxOff)
			once(SandboxRequired)
		} else {
			once(SandboxRequired)
			once(SandboxOff)
		}
	}
	b.StopTimer()
	off, on := sums[SandboxOff], sums[SandboxRequired]
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / n }
	steps := float64(on.n / b.N)
	// What the sandbox adds to a run, spread over its steps: the figure
	// the budget is set in (50 ms a step). The steps' own durations
	// overlap (a stage's siblings run side by side) and include waiting
	// for a CPU, so their sum overstates it on a busy machine.
	perStep := (ms(on.run) - ms(off.run)) / steps
	b.ReportMetric(ms(off.run), "ms/run-unsandboxed")
	b.ReportMetric(ms(on.run), "ms/run-sandboxed")
	b.ReportMetric(float64(on.run)/float64(off.run), "x-sandboxed/unsandboxed")
	b.ReportMetric(perStep, "ms/step-added")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d siblings, %d steps a run, warm root, pinned SHAs", benchSiblings, on.n/b.N)
	b.Logf("unsandboxed %6.0f ms a run (sum of step durations %6.0f ms)", ms(off.run), ms(off.steps))
	b.Logf("sandboxed   %6.0f ms a run (sum of step durations %6.0f ms): %.3fx, %+.1f ms a step",
		ms(on.run), ms(on.steps), float64(on.run)/float64(off.run), perStep)
}

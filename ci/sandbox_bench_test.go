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
	"github.com/provide-io/workspace-bot/internal/sandbox"
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
		// takes a lock that parallel steps queue on, outside a sandbox),
		// and one the throwaway uid can run (not a pyenv under /root).
		find := newFinder(nil)
		if os.Geteuid() == 0 {
			find = newFinder(throwawayUser())
		}
		p, err := find.look("python3")
		if err != nil {
			b.Skip("no python3 on PATH that every mode can run:", err)
		}
		out, err := exec.Command(p, "-c", "import sys; print(sys.executable)").Output()
		if err != nil {
			b.Skip("python3 does not run:", err)
		}
		py := strings.TrimSpace(string(out))
		benchSandbox(b, py+" -c 'import unittest, json, subprocess'", py+" -c 'import unittest, json, subprocess, sqlite3'")
	})
}

func benchSandbox(b *testing.B, setup, test string) {
	tmp := b.TempDir()
	// The init a sandbox starts is the service's own binary, re-executed:
	// measure with workspace-bot's, not this test binary's, start-up.
	bot := filepath.Join(tmp, "workspace-bot")
	if out, err := exec.Command("go", "build", "-o", bot, "../cmd/workspace-bot").CombinedOutput(); err != nil {
		b.Fatalf("build workspace-bot: %v\n%s", err, out)
	}
	defer sandbox.UseInit(bot)()
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
	// The confined run's network is named in its config: a trusted run
	// (the warm root) otherwise keeps the machine's.
	confinedCfg := *cfg
	confinedCfg.Workspace.CI.Network = workspace.NetworkIsolated
	type mode struct {
		name string
		r    *Runner
		cfg  *workspace.Config
		run  time.Duration
		n    int
	}
	modes := []*mode{
		{name: "unsandboxed", r: &Runner{DataDir: data, Sandbox: SandboxOff, Slots: 1}, cfg: cfg},
		{name: "sandboxed", r: &Runner{DataDir: data, Sandbox: SandboxRequired, Slots: 1}, cfg: cfg},
		// Everything serve gives a step: the sandbox, a throwaway uid
		// (as root), networks of their own (setup through the egress
		// proxy, tests loopback only) and the run's cgroup.
		{name: "confined", r: &Runner{DataDir: data, Sandbox: SandboxRequired, Slots: 1, Confine: true}, cfg: &confinedCfg},
	}
	warm, err := modes[0].r.Run(ctx, Request{Config: cfg, Trusted: true})
	if err != nil || warm.Result != Success {
		b.Fatalf("warming: %v %+v", err, warm)
	}
	pins := map[string]Pin{}
	for _, s := range warm.Siblings {
		pins[s.Name] = Pin{SHA: s.SHA}
	}
	steps := 0
	once := func(m *mode) {
		start := time.Now()
		res, err := m.r.Run(ctx, Request{Config: m.cfg, Pins: pins, Trusted: true})
		d := time.Since(start)
		if err != nil || res.Result != Success {
			b.Fatalf("%s: %v %+v", m.name, err, res)
		}
		m.run += d
		m.n++
		steps = 0
		for _, st := range res.Steps {
			if st.Name != "checkout" {
				steps++
			}
		}
	}
	for _, m := range modes[1:] {
		once(m) // the page cache, the ID mapping, the cgroup hierarchy
		m.run, m.n = 0, 0
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Every mode once an iteration, in a rotating order.
		for j := range modes {
			once(modes[(i+j)%len(modes)])
		}
	}
	b.StopTimer()
	ms := func(m *mode) float64 { return float64(m.run) / float64(time.Millisecond) / float64(m.n) }
	off := modes[0]
	b.Logf("%d siblings, %d steps a run, warm root, pinned SHAs", benchSiblings, steps)
	b.ReportMetric(ms(off), "ms/run-unsandboxed")
	for _, m := range modes[1:] {
		// What the mode adds to a run, spread over its steps: the figure
		// the budget is set in. The steps' own durations overlap (a
		// stage's siblings run side by side), so their sum would
		// overstate it.
		perStep := (ms(m) - ms(off)) / float64(steps)
		b.ReportMetric(ms(m), "ms/run-"+m.name)
		b.ReportMetric(ms(m)/ms(off), "x-"+m.name+"/unsandboxed")
		b.ReportMetric(perStep, "ms/step-added-"+m.name)
		b.Logf("%-11s %6.0f ms a run: %.3fx, %+.1f ms a step", m.name, ms(m), ms(m)/ms(off), perStep)
	}
	b.Logf("unsandboxed %6.0f ms a run", ms(off))
	b.ReportMetric(0, "ns/op")
}

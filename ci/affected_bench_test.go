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

// BenchmarkAffected measures what testing only the affected siblings
// saves: a 14-sibling workspace in three layers (3 foundation siblings,
// 5 framework siblings that each depend on the first foundation one, 6
// tools that each depend on a framework sibling), each with a test suite
// of its own that does 1 to 3 seconds of CPU work, and a trivial
// workspace test. Every iteration runs, in a rotating order, the full run
// (no members: every test), a change to one tools leaf, and a change to
// the foundation sibling everything depends on, from the same warm root
// at the same SHAs, so the ratios compare like with like.
//
// The suites are CPU work, not sleeps: side by side on two cores, real
// test suites share the CPUs, and that is what selection saves.
func BenchmarkAffected(b *testing.B) {
	tmp := b.TempDir()
	remote := filepath.Join(tmp, "remote")
	ws := filepath.Join(tmp, "ws")
	os.MkdirAll(ws, 0o755)
	benchRemotes(b, remote)
	srv := httptest.NewServer(gitfixture.Handler(remote))
	defer srv.Close()

	perSecond := awkLoopsPerSecond(b)
	cfg := &workspace.Config{File: filepath.Join(ws, "wrknv.toml"), Workspace: workspace.Workspace{
		Name: "ws", Layers: workspace.DefaultLayers,
		CI: workspace.CI{Timeout: 10 * time.Minute, Checkout: workspace.CheckoutMerge, Test: []string{"true"}},
	}}
	for i := 0; i < benchSiblings; i++ {
		s := workspace.Sibling{Name: fmt.Sprintf("sib%02d", i), OwnSetup: true}
		s.Path, s.Repo = "../"+s.Name, srv.URL+"/o/"+s.Name+".git"
		switch {
		case i < 3:
			s.Layer = "foundation"
		case i < 8:
			s.Layer, s.DependsOn = "framework", []string{"sib00"}
		default:
			s.Layer, s.DependsOn = "tools", []string{fmt.Sprintf("sib%02d", 3+i%5)}
		}
		secs := 1 + i%3
		s.Test = []string{fmt.Sprintf("awk 'BEGIN { for (i = 0; i < %d; i++) s += i }'", secs*perSecond)}
		cfg.Siblings = append(cfg.Siblings, s)
	}
	os.WriteFile(cfg.File, []byte("# benchmark\n"), 0o644)

	ctx := context.Background()
	r := &Runner{DataDir: filepath.Join(tmp, "data"), Slots: 1}
	warm, err := r.Run(ctx, Request{Config: cfg, Trusted: true})
	if err != nil || warm.Result != Success {
		b.Fatalf("warming: %v %+v", err, warm)
	}
	pins := map[string]Pin{}
	for _, s := range warm.Siblings {
		pins[s.Name] = Pin{SHA: s.SHA}
	}
	type change struct {
		name    string
		members []string
		run     time.Duration
		tested  int
	}
	changes := []*change{
		{name: "full", members: nil},
		{name: "leaf", members: []string{"sib13"}},
		{name: "foundation", members: []string{"sib00"}},
	}
	once := func(c *change) {
		start := time.Now()
		res, err := r.Run(ctx, Request{Config: cfg, Pins: pins, Members: c.members, Trusted: true})
		c.run += time.Since(start)
		if err != nil || res.Result != Success {
			b.Fatalf("%s: %v %+v", c.name, err, res)
		}
		c.tested = 0
		for _, s := range res.Steps {
			if s.Name == "test" && s.Sibling != "" && s.NotAffected == "" {
				c.tested++
			}
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range changes {
			once(changes[(i+j)%len(changes)])
		}
	}
	b.StopTimer()

	// What choosing costs, alone: reading 14 pyproject.toml files (none
	// here, so each a failed open) and walking the graph.
	dirs := map[string]string{}
	for _, s := range cfg.Siblings {
		dirs[s.Name] = filepath.Join(tmp, "none", s.Name)
	}
	const picks = 1000
	start := time.Now()
	for i := 0; i < picks; i++ {
		cfg.Affected([]string{"sib00"}, cfg.PackageUses(dirs))
	}
	pick := time.Since(start) / picks

	full := float64(changes[0].run) / float64(b.N)
	for _, c := range changes {
		ms := float64(c.run) / float64(b.N) / 1e6
		b.ReportMetric(ms, "ms/run-"+c.name)
		b.Logf("%-10s %3d of %d sibling suites, %6.0f ms a run, %.2fx the full run", c.name, c.tested, benchSiblings, ms, float64(c.run)/float64(b.N)/full)
		if c.name != "full" {
			b.ReportMetric(float64(c.run)/float64(b.N)/full, "x-"+c.name+"/full")
		}
	}
	b.ReportMetric(float64(pick)/1e3, "µs/choice")
	b.Logf("choosing the affected siblings: %s", pick)
	b.ReportMetric(0, "ns/op")
}

// awkLoopsPerSecond is how many iterations of the suites' awk loop take
// one second of CPU here.
func awkLoopsPerSecond(b *testing.B) int {
	const n = 2000000
	start := time.Now()
	cmd := exec.Command("awk", fmt.Sprintf("BEGIN { for (i = 0; i < %d; i++) s += i }", n))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("awk: %v %s", err, strings.TrimSpace(string(out)))
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if cpu < 10*time.Millisecond {
		cpu = time.Since(start)
	}
	return int(float64(n) / cpu.Seconds())
}

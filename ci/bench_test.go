package ci

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/workspace"
)

// Benchmark shape: a workspace the size of the provide.io one.
const (
	benchSiblings = 14
	benchCommits  = 40
	benchFiles    = 300
)

// benchRepo writes a repository with benchCommits commits touching
// benchFiles files in one git fast-import, which is far cheaper than a
// process per blob.
func benchRepo(b *testing.B, dir string, seed int) {
	if err := gitfixture.InitBare(dir, "main"); err != nil {
		b.Fatal(err)
	}
	var s bytes.Buffer
	blob := func(i, c int) string {
		var body bytes.Buffer
		for l := 0; l < 40; l++ {
			fmt.Fprintf(&body, "def f_%d_%d_%d(x):  # repo %d\n    return x * %d\n", i, l, c, seed, l+c)
		}
		return body.String()
	}
	for c := 1; c <= benchCommits; c++ {
		fmt.Fprintf(&s, "commit refs/heads/main\nmark :%d\ncommitter bench <bench@example.invalid> %d +0000\n", c, 1700000000+c*60)
		msg := fmt.Sprintf("change %d", c)
		fmt.Fprintf(&s, "data %d\n%s\n", len(msg), msg)
		if c > 1 {
			fmt.Fprintf(&s, "from :%d\n", c-1)
		}
		var files []int
		if c == 1 {
			for i := 0; i < benchFiles; i++ {
				files = append(files, i)
			}
		} else {
			for k := 0; k < 8; k++ {
				files = append(files, (c*37+k*53)%benchFiles)
			}
		}
		for _, i := range files {
			content := blob(i, c)
			fmt.Fprintf(&s, "M 100644 inline src/pkg%02d/mod_%03d.py\ndata %d\n%s\n", i%20, i, len(content), content)
		}
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	cmd.Stdin = &s
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("fast-import: %v: %s", err, out)
	}
	if _, err := gitfixture.Git(dir, "gc", "--quiet"); err != nil {
		b.Fatal(err)
	}
}

// benchRemotes makes the benchSiblings bare repositories the benchmarks
// serve, under remote/o, side by side.
func benchRemotes(b *testing.B, remote string) {
	var wg sync.WaitGroup
	for i := 0; i < benchSiblings; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); benchRepo(b, filepath.Join(remote, "o", fmt.Sprintf("sib%02d.git", i)), i) }()
	}
	wg.Wait()
}

// BenchmarkMaterialize compares checking out a 14-sibling workspace from
// warm mirrors against (a) what a bootstrap script does, a sequential git
// clone of each sibling from the server, and (b) the floor, parallel git
// worktree add of the same SHAs from the same mirrors. Every iteration
// times all of them, so the ratios compare like with like.
func BenchmarkMaterialize(b *testing.B) {
	tmp := b.TempDir()
	remote := filepath.Join(tmp, "remote")
	ws := filepath.Join(tmp, "ws")
	os.MkdirAll(ws, 0o755)
	benchRemotes(b, remote)
	// WORKSPACE_BOT_BENCH_RTT delays every HTTP request, to stand in for
	// the round trips to a real forge that loopback does not have.
	rtt, _ := time.ParseDuration(os.Getenv("WORKSPACE_BOT_BENCH_RTT"))
	h := gitfixture.Handler(remote)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(rtt)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := &workspace.Config{File: filepath.Join(ws, "wrknv.toml"), Workspace: workspace.Workspace{
		Name: "ws", Layers: workspace.DefaultLayers,
		CI: workspace.CI{Timeout: 10 * time.Minute, Checkout: workspace.CheckoutMerge, Test: []string{"true"}},
	}}
	for i := 0; i < benchSiblings; i++ {
		n := fmt.Sprintf("sib%02d", i)
		cfg.Siblings = append(cfg.Siblings, workspace.Sibling{Name: n, Path: "../" + n, Repo: srv.URL + "/o/" + n + ".git", Layer: "foundation"})
	}
	os.WriteFile(cfg.File, []byte("# benchmark\n"), 0o644)

	r := &Runner{DataDir: filepath.Join(tmp, "data"), Keep: true}
	ctx := context.Background()
	warm, err := r.Run(ctx, Request{Config: cfg})
	if err != nil || warm.Result != Success {
		b.Fatalf("warming the mirrors: %v %+v", err, warm)
	}
	removeTree(warm.BuildRoot)
	pins := map[string]Pin{}
	for _, s := range warm.Siblings {
		pins[s.Name] = Pin{SHA: s.SHA}
	}

	timeIt := func(f func() string) (time.Duration, string) {
		start := time.Now()
		cleanup := f()
		d := time.Since(start)
		if cleanup != "" {
			removeTree(cleanup)
		}
		return d, cleanup
	}
	ours := func(p map[string]Pin) func() string {
		return func() string {
			res, err := r.Run(ctx, Request{Config: cfg, Pins: p})
			if err != nil || res.Result != Success {
				b.Fatalf("%v %+v", err, res)
			}
			return res.BuildRoot
		}
	}
	cloneSeq := func() string {
		dir, _ := os.MkdirTemp(tmp, "clone-")
		for _, s := range cfg.Siblings {
			if _, err := gitfixture.Git(dir, "clone", "--quiet", s.Repo, s.Name); err != nil {
				b.Fatal(err)
			}
		}
		return dir
	}
	worktrees := func() string {
		dir, _ := os.MkdirTemp(tmp, "worktree-")
		var wg sync.WaitGroup
		for _, s := range cfg.Siblings {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := r.mirrorFor(s.Repo)
				if _, err := gitfixture.Git(m.dir, "worktree", "add", "--quiet", "--detach", filepath.Join(dir, s.Name), pins[s.Name].SHA); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		return dir
	}

	var sum [4]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d0, _ := timeIt(ours(pins))
		d1, _ := timeIt(ours(nil))
		d2, _ := timeIt(cloneSeq)
		d3, _ := timeIt(worktrees)
		for _, s := range cfg.Siblings {
			gitfixture.Git(r.mirrorFor(s.Repo).dir, "worktree", "prune")
		}
		for k, d := range []time.Duration{d0, d1, d2, d3} {
			sum[k] += d
		}
	}
	b.StopTimer()
	n := time.Duration(b.N)
	ms := func(d time.Duration) float64 { return float64(d/n) / float64(time.Millisecond) }
	b.ReportMetric(ms(sum[0]), "ms/ours-pinned")
	b.ReportMetric(ms(sum[1]), "ms/ours-tips")
	b.ReportMetric(ms(sum[2]), "ms/clone-seq")
	b.ReportMetric(ms(sum[3]), "ms/worktree-par")
	b.ReportMetric(float64(sum[2])/float64(sum[0]), "x-faster-than-clone")
	b.ReportMetric(float64(sum[0])/float64(sum[3]), "x-of-worktree-floor")
	b.ReportMetric(float64(sum[2])/float64(sum[1]), "x-faster-than-clone-tips")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d siblings x %d files, %d commits; RTT %s; build roots in %s", benchSiblings, benchFiles, benchCommits, rtt, os.TempDir())
	b.Logf("ours, pinned SHAs (no fetch)   %8.0f ms", ms(sum[0]))
	b.Logf("ours, branch tips (fetch)      %8.0f ms", ms(sum[1]))
	b.Logf("(a) sequential git clone       %8.0f ms  ours is %.1fx faster (%.1fx with fetch)", ms(sum[2]), float64(sum[2])/float64(sum[0]), float64(sum[2])/float64(sum[1]))
	b.Logf("(b) parallel git worktree add  %8.0f ms  ours takes %.2fx the floor", ms(sum[3]), float64(sum[0])/float64(sum[3]))
}

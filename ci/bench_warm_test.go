package ci

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/workspace"
)

// The warm benchmark's workspace: 14 Python siblings of about 400 files,
// one of them carrying a built docs site like provide-foundry, which it
// checks out sparsely.
const (
	warmSiblings  = 14
	warmModules   = 390 // Python modules per sibling, beside its pyproject, backend and tests
	warmDocsFiles = 4000
	warmLarge     = 13 // the index of the sibling with the docs site
)

// fastImport writes one commit of files on main in the bare repository
// dir, in one git fast-import.
func fastImport(b testing.TB, dir string, files map[string]string) {
	if err := gitfixture.InitBare(dir, "main"); err != nil {
		b.Fatal(err)
	}
	if _, err := gitfixture.Git(dir, "config", "uploadpack.allowFilter", "true"); err != nil {
		b.Fatal(err)
	}
	var s bytes.Buffer
	fmt.Fprintf(&s, "commit refs/heads/main\ncommitter bench <bench@example.invalid> 1700000000 +0000\ndata 5\nfirst\n")
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(&s, "M 100644 inline %s\ndata %d\n%s\n", p, len(files[p]), files[p])
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	cmd.Stdin = &s
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("fast-import: %v: %s", err, out)
	}
}

// warmPackage is sibling i: a package in one of three layers, depending
// on one package of each earlier layer.
func warmPackage(i int) pyPackage {
	p := pyPackage{name: fmt.Sprintf("wpkg%02d", i)}
	switch {
	case i < 4:
		p.layer = "foundation"
	case i < 10:
		p.layer = "framework"
		p.deps = []string{fmt.Sprintf("wpkg%02d", i%4)}
	default:
		p.layer = "tools"
		p.deps = []string{fmt.Sprintf("wpkg%02d", i%4), fmt.Sprintf("wpkg%02d", 4+i%6)}
	}
	return p
}

func warmFiles(i int, word string) map[string]string {
	p := warmPackage(i)
	files := pyFiles(p, "0.1.0", word)
	delete(files, "docs/site/index.html")
	for m := 0; m < warmModules; m++ {
		var body strings.Builder
		for l := 0; l < 12; l++ {
			fmt.Fprintf(&body, "def f_%d_%d(x):\n    return x * %d  # %s\n", m, l, l+i, word)
		}
		files[fmt.Sprintf("src/%s/mod_%03d.py", p.name, m)] = body.String()
	}
	if i == warmLarge {
		for d := 0; d < warmDocsFiles; d++ {
			files[fmt.Sprintf("docs/site/%02d/page_%04d.html", d%40, d)] = "<html>" + strings.Repeat(fmt.Sprintf("page %d of the built docs site. ", d), 40) + "</html>\n"
		}
	}
	return files
}

// warmBench is the warm benchmark's workspace, served and configured.
type warmBench struct {
	tmp, remote string
	cfg         *workspace.Config
	r           *Runner
	order       []pyPackage // build order: foundation, framework, tools
	testCmd     string
	srvURL      string
}

// newWarmBench writes the 14 repositories under tmp, serves them over
// smart HTTP until the test ends, and writes the workspace's wrknv.toml.
func newWarmBench(tb testing.TB, tmp string) *warmBench {
	if _, err := exec.LookPath("python3"); err != nil {
		tb.Fatal("python3 is needed for the Python workspace")
	}
	w := &warmBench{tmp: tmp, remote: filepath.Join(tmp, "remote")}
	var wg sync.WaitGroup
	for i := 0; i < warmSiblings; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fastImport(tb, filepath.Join(w.remote, "o", warmPackage(i).name+".git"), warmFiles(i, "one"))
		}()
	}
	wg.Wait()
	srv := httptest.NewServer(gitfixture.Handler(w.remote))
	tb.Cleanup(srv.Close)
	w.srvURL = srv.URL

	ws := filepath.Join(tmp, "ws")
	os.MkdirAll(ws, 0o755)
	var imports []string
	var toml strings.Builder
	fmt.Fprintf(&toml, "[workspace]\nname = \"bench\"\n\n[workspace.env]\nPIP_NO_INDEX = \"1\"\nUV_OFFLINE = \"1\"\nPIP_DISABLE_PIP_VERSION_CHECK = \"1\"\n\n")
	for i := 0; i < warmSiblings; i++ {
		imports = append(imports, warmPackage(i).name)
	}
	w.testCmd = "python -c 'import " + strings.Join(imports, ", ") + "'"
	fmt.Fprintf(&toml, "[workspace.tasks]\ntest = %q\n", w.testCmd)
	for i := 0; i < warmSiblings; i++ {
		p := warmPackage(i)
		w.order = append(w.order, p)
		deps := make([]string, len(p.deps))
		for k, d := range p.deps {
			deps[k] = fmt.Sprintf("%q", d)
		}
		fmt.Fprintf(&toml, "\n[[siblings]]\nname = %q\npath = \"../%s\"\nrepo = \"%s/o/%s.git\"\nlayer = %q\ndepends_on = [%s]\n",
			p.name, p.name, srv.URL, p.name, p.layer, strings.Join(deps, ", "))
		if i == warmLarge {
			toml.WriteString("sparse = [\"src\", \"tests\", \"_build\"]\n")
		}
	}
	cfgFile := filepath.Join(ws, "wrknv.toml")
	os.WriteFile(cfgFile, []byte(toml.String()), 0o644)
	cfg, _, err := workspace.Load(cfgFile)
	if err != nil {
		tb.Fatal(err)
	}
	w.cfg = cfg
	sort.SliceStable(w.order, func(i, j int) bool { return w.order[i].layer < w.order[j].layer })
	w.r = &Runner{DataDir: filepath.Join(tmp, "data")}
	return w
}

// run runs the workspace's tests at the branch tips as a trusted run,
// and returns the result and the test command's own time.
func (w *warmBench) run(tb testing.TB) (*Result, time.Duration) {
	res, err := w.r.Run(context.Background(), Request{Config: w.cfg, Trusted: true})
	if err != nil || res.Result != Success {
		tb.Fatalf("%v %+v", err, res.FirstFailure())
	}
	var test time.Duration
	for _, s := range res.Steps {
		if s.Name == "test" {
			test += time.Duration(s.DurationMS) * time.Millisecond
		}
	}
	return res, test
}

// change pushes a commit changing one module of sibling i.
func (w *warmBench) change(i, n int) {
	files := warmFiles(i, "one")
	mod := fmt.Sprintf("src/%s/mod_%03d.py", warmPackage(i).name, n%warmModules)
	gitfixture.Commit(filepath.Join(w.remote, "o", warmPackage(i).name+".git"), "main", "",
		map[string]string{mod: files[mod] + fmt.Sprintf("# change %d\n", n)}, "change")
}

// BenchmarkWarmRerun measures what a developer waits for on the second
// run: the workspace above, its mirrors, warm root and venv cache made by
// a first run, then in every iteration
//
//   - ours, nothing changed: Runner.Run at the branch tips;
//   - ours, one sibling changed: a commit pushed to one sibling, then
//     Runner.Run (setup skipped: its inputs did not change);
//   - the floor: a parallel "git clone --shared" plus checkout of every
//     sibling at the same commits from the same mirrors (the large one
//     sparse, as ours), and nothing else: no ls-remote or fetch from the
//     server, no setup and no test command, all of which ours includes;
//   - the bootstrap baseline: what provide-workspace's scripts do, a
//     sequential "git clone" of every sibling from the server, a new venv
//     and "pip install -e" of each sibling in build order, then the same
//     test command.
//
// It reports each time, the ratios, and ours minus the test command's own
// time ("own"), which is what workspace-bot adds.
func BenchmarkWarmRerun(b *testing.B) {
	tmp := b.TempDir()
	w := newWarmBench(b, tmp)
	cfg, r, order, testCmd := w.cfg, w.r, w.order, w.testCmd
	run := func() (*Result, time.Duration) { return w.run(b) }
	coldStart := time.Now()
	cold, _ := run()
	coldTime := time.Since(coldStart)
	if cold.Cache != CacheMiss {
		b.Fatalf("cold run: cache %q", cold.Cache)
	}

	floor := func(res *Result) time.Duration {
		dir, _ := os.MkdirTemp(tmp, "floor-")
		defer removeTree(dir)
		start := time.Now()
		var wg sync.WaitGroup
		for k, s := range res.Siblings {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := filepath.Join(dir, s.Name)
				m := r.mirrorFor(cfg.RepoURL(cfg.Sibling(s.Name)))
				if _, err := gitfixture.Git(dir, "clone", "--quiet", "--shared", "--no-checkout", m.dir, d); err != nil {
					b.Error(err)
					return
				}
				if k == warmLarge || s.Name == warmPackage(warmLarge).name {
					gitfixture.Git(d, "sparse-checkout", "set", "--cone", "src", "tests", "_build")
				}
				if _, err := gitfixture.Git(d, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", s.SHA); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	bootstrap := func() time.Duration {
		dir, _ := os.MkdirTemp(tmp, "bootstrap-")
		defer removeTree(dir)
		start := time.Now()
		for i := 0; i < warmSiblings; i++ {
			name := warmPackage(i).name
			if _, err := gitfixture.Git(dir, "clone", "--quiet", w.srvURL+"/o/"+name+".git", name); err != nil {
				b.Fatal(err)
			}
		}
		sh := func(wd, script string) {
			cmd := exec.Command("sh", "-c", script)
			cmd.Dir = wd
			cmd.Env = append(os.Environ(), "PIP_NO_INDEX=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "VIRTUAL_ENV="+filepath.Join(dir, ".venv"),
				"PATH="+filepath.Join(dir, ".venv", "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", script, err, out)
			}
		}
		sh(dir, "python3 -m venv .venv")
		for _, p := range order {
			sh(filepath.Join(dir, p.name), filepath.Join(dir, ".venv", "bin", "python")+" -m pip install -q -e .")
		}
		sh(dir, testCmd)
		return time.Since(start)
	}

	var sumSame, sumOwnSame, sumOne, sumOwnOne, sumFloor, sumBoot time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, test := run()
		d := time.Since(start)
		if res.Root != RootReused || res.Cache != CacheHit {
			b.Fatalf("nothing changed: root %q cache %q", res.Root, res.Cache)
		}
		sumSame += d
		sumOwnSame += d - test

		w.change(1+i%(warmSiblings-1), i)
		start = time.Now()
		res, test = run()
		d = time.Since(start)
		if res.Root != RootReused || res.Cache != CacheHit {
			b.Fatalf("one changed: root %q cache %q", res.Root, res.Cache)
		}
		sumOne += d
		sumOwnOne += d - test
		sumFloor += floor(res)
		sumBoot += bootstrap()
	}
	b.StopTimer()
	n := time.Duration(b.N)
	ms := func(d time.Duration) float64 { return float64(d/n) / float64(time.Millisecond) }
	b.ReportMetric(ms(sumSame), "ms/warm-same")
	b.ReportMetric(ms(sumOwnSame), "ms/own-same")
	b.ReportMetric(ms(sumOne), "ms/warm-one")
	b.ReportMetric(ms(sumFloor), "ms/floor")
	b.ReportMetric(ms(sumBoot), "ms/bootstrap")
	b.ReportMetric(float64(sumBoot)/float64(sumOne), "x-faster-than-bootstrap")
	b.ReportMetric(float64(sumOne)/float64(sumFloor), "x-of-floor")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d siblings x ~%d files, one with %d more docs files checked out sparse; venv of %d editable installs; build roots in %s",
		warmSiblings, warmModules+6, warmDocsFiles, warmSiblings, os.TempDir())
	b.Logf("cold first run (clone, venv, setup)   %8.0f ms", float64(coldTime)/float64(time.Millisecond))
	b.Logf("ours, nothing changed                 %8.0f ms  (own time %0.f ms beside the test command)", ms(sumSame), ms(sumOwnSame))
	b.Logf("ours, one sibling changed             %8.0f ms  (own time %0.f ms)", ms(sumOne), ms(sumOwnOne))
	b.Logf("floor: parallel clone --shared+checkout %6.0f ms  ours (one changed) is %.2fx of it; the floor has no ls-remote, fetch, setup or test command", ms(sumFloor), float64(sumOne)/float64(sumFloor))
	b.Logf("bootstrap: sequential clone+venv+pip  %8.0f ms  ours is %.1fx faster", ms(sumBoot), float64(sumBoot)/float64(sumOne))
}

// BenchmarkDefaultSetup decides how the default setup installs one
// stage's siblings: six independent packages installed editable into one
// venv with pip, one after another, against all six pip processes at
// once. pip takes no lock on the venv, so side by side is only worth its
// risk if it is much faster; see the reported ratio.
func BenchmarkDefaultSetup(b *testing.B) {
	tmp := b.TempDir()
	var pkgs []string
	for i := 0; i < 6; i++ {
		p := pyPackage{name: fmt.Sprintf("stage%d", i)}
		dir := filepath.Join(tmp, p.name)
		for path, content := range pyFiles(p, "0.1.0", "bench") {
			os.MkdirAll(filepath.Join(dir, filepath.Dir(path)), 0o755)
			os.WriteFile(filepath.Join(dir, path), []byte(content), 0o644)
		}
		pkgs = append(pkgs, dir)
	}
	env := append(os.Environ(), "PIP_NO_INDEX=1", "PIP_DISABLE_PIP_VERSION_CHECK=1")
	venv := func() string {
		dir, _ := os.MkdirTemp(tmp, "venv-")
		if out, err := exec.Command("python3", "-m", "venv", dir).CombinedOutput(); err != nil {
			b.Fatalf("%v %s", err, out)
		}
		return dir
	}
	install := func(v, pkg string) {
		cmd := exec.Command(filepath.Join(v, "bin", "python"), "-m", "pip", "install", "-q", "-e", ".")
		cmd.Dir, cmd.Env = pkg, env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Errorf("%v %s", err, out)
		}
	}
	check := func(v string) {
		if out, err := exec.Command(filepath.Join(v, "bin", "python"), "-c", "import stage0, stage1, stage2, stage3, stage4, stage5").CombinedOutput(); err != nil {
			b.Fatalf("the venv lacks a package: %v %s", err, out)
		}
	}
	var seq, par time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := venv()
		start := time.Now()
		for _, p := range pkgs {
			install(v, p)
		}
		seq += time.Since(start)
		check(v)
		v = venv()
		start = time.Now()
		var wg sync.WaitGroup
		for _, p := range pkgs {
			wg.Add(1)
			go func() { defer wg.Done(); install(v, p) }()
		}
		wg.Wait()
		par += time.Since(start)
		check(v)
	}
	b.StopTimer()
	n := time.Duration(b.N)
	b.ReportMetric(float64(seq/n)/float64(time.Millisecond), "ms/sequential")
	b.ReportMetric(float64(par/n)/float64(time.Millisecond), "ms/parallel")
	b.ReportMetric(float64(seq)/float64(par), "x-parallel-speedup")
	b.ReportMetric(0, "ns/op")
}

package ci

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/provide-io/workspace-bot/internal/egress"
	"github.com/provide-io/workspace-bot/internal/sandbox"
	"github.com/provide-io/workspace-bot/workspace"
)

// defaultSetup is the workspace.Step From of the default setup's steps.
const defaultSetup = "default setup"

// runPlan is a workspace.Plan laid onto one build: indexes into
// Result.Steps, grouped as the plan groups them.
type runPlan struct {
	phases []runPhase
	// venv is the shared venv's absolute path when the plan makes one.
	venv string
	// setupEnd is the index of the first phase after the setup (the
	// tests); the cache is saved when everything before it succeeded.
	setupEnd int
	// pytest names, by step index, the report pytest is told to write
	// (see pytestReport).
	pytest map[int]string
}

// runPhase is lanes run side by side, each lane's steps in order.
type runPhase struct {
	kind  string
	lanes [][]int
	dirs  map[int]string
	// venv: its steps run with the shared venv active.
	venv bool
}

// facts are what the plan needs to know of this build: which siblings
// have a pyproject.toml, whether uv is on PATH, the interpreter.
func facts(cfg *workspace.Config, lay layout, py interpreter) workspace.Facts {
	f := workspace.Facts{Pyproject: map[string]bool{}, UV: workspace.Absent, Python: py.path}
	for name, dir := range lay.dirs {
		if _, err := os.Stat(filepath.Join(dir, "pyproject.toml")); err == nil {
			f.Pyproject[name] = true
		} else if _, err := os.Stat(dir); err == nil {
			f.Pyproject[name] = false
		}
	}
	if _, err := py.find.look("uv"); err == nil {
		f.UV = workspace.Present
	}
	return f
}

// planSteps appends every step of the run to res.Steps, skipped until it
// runs, and returns how they run. With cached, the default setup's steps
// are not run: the venv they would build is already in place for these
// very inputs (see cache.go), and they read success, marked Cached.
func planSteps(req Request, lay layout, py interpreter, cached bool, res *Result) (runPlan, error) {
	cfg := req.Config
	f := facts(cfg, lay, py)
	var p workspace.Plan
	if req.Task != "" {
		var err error
		if p, err = cfg.TaskPlan(f, req.Task); err != nil {
			return runPlan{}, inputErr(err.Error())
		}
	} else {
		p = cfg.Plan(f)
	}
	affected := selectAffected(req, lay, res)
	rp := runPlan{setupEnd: len(p.Phases), pytest: map[int]string{}}
	if p.Venv != "" {
		rp.venv = filepath.Join(lay.wsDir, p.Venv)
	}
	active := false
	for pi, ph := range p.Phases {
		rph := runPhase{kind: ph.Kind, dirs: map[int]string{}, venv: active}
		if ph.Kind == workspace.PhaseVenv {
			active = true
		}
		switch ph.Kind {
		case workspace.PhaseSiblingTests, workspace.PhaseTests, workspace.PhaseTask:
			if rp.setupEnd == len(p.Phases) {
				rp.setupEnd = pi
			}
		}
		// pip has no lock on the venv: default installs of one stage run
		// one after another in a single lane; uv locks it, so they run
		// side by side (see BenchmarkDefaultSetup).
		var pipLane []int
		for _, l := range ph.Lanes {
			var lane []int
			for _, st := range l {
				sr := StepResult{Name: st.Name, Sibling: st.Sibling, Index: st.Index, Command: st.Command, Result: Skipped}
				if cached && st.From == defaultSetup {
					sr.Result, sr.Cached = Success, true
					sr.LogTail = "[cached: the venv was built for the same pyproject.toml files, interpreter and setup at this path; not run]"
					sr.Log = sr.LogTail + "\n"
				}
				if ph.Kind == workspace.PhaseSiblingTests && affected != nil && affected[st.Sibling] == "" {
					sr.NotAffected = workspace.NotAffected
					res.Steps = append(res.Steps, sr)
					continue
				}
				res.Steps = append(res.Steps, sr)
				i := len(res.Steps) - 1
				if name := pytestReport(cfg, f, p, ph.Kind, st); name != "" {
					rp.pytest[i] = name
				}
				rph.dirs[i] = lay.wsDir
				if st.Sibling != "" {
					rph.dirs[i] = lay.dirs[st.Sibling]
				}
				lane = append(lane, i)
			}
			if ph.Kind == workspace.PhaseStage && len(l) == 1 && l[0].From == defaultSetup && f.UV != workspace.Present {
				pipLane = append(pipLane, lane...)
				continue
			}
			if len(lane) > 0 {
				rph.lanes = append(rph.lanes, lane)
			}
		}
		if len(pipLane) > 0 {
			rph.lanes = append(rph.lanes, pipLane)
		}
		rp.phases = append(rp.phases, rph)
	}
	return rp, nil
}

// selectAffected is the siblings whose tests a run of req.Members runs,
// with why (recorded in res), or nil when every test runs. The graph is
// depends_on joined with the dependencies the checkouts' pyproject.toml
// files declare on each other.
func selectAffected(req Request, lay layout, res *Result) map[string]string {
	if req.Members == nil || req.Config.Workspace.CI.TestAll || req.Task != "" {
		return nil
	}
	res.Affected = req.Config.Affected(req.Members, req.Config.PackageUses(lay.dirs))
	return res.Affected
}

// withVenv is env with the venv active, as "source .venv/bin/activate"
// would make it: VIRTUAL_ENV set, its bin first on PATH.
func withVenv(env []string, venv string) []string {
	out := make([]string, 0, len(env)+1)
	path := ""
	for _, kv := range env {
		switch {
		case strings.HasPrefix(kv, "PATH="):
			path = strings.TrimPrefix(kv, "PATH=")
		case strings.HasPrefix(kv, "VIRTUAL_ENV="):
		default:
			out = append(out, kv)
		}
	}
	bin := filepath.Join(venv, "bin")
	if path != "" {
		bin += string(filepath.ListSeparator) + path
	}
	return append(out, "VIRTUAL_ENV="+venv, "PATH="+bin)
}

// runPhases runs the planned steps until one does not succeed; the rest
// stay skipped. Steps of one phase already running are let finish.
// setupDone is called once every setup phase succeeded, before the tests.
// Setup and test steps each get their own network (see isolation).
func (r *Runner) runPhases(ctx context.Context, req Request, lay layout, sc scratch, iso isolation, box sandbox.Spec, rp runPlan, res *Result, setupDone func()) {
	base := &stepIO{env: stepEnv(req, lay, sc, box.User), box: box, needles: r.secretSet().list()}
	if req.Output != nil {
		base.out = &syncWriter{w: req.Output}
		base.budget, base.limit = r.logLimits(req)
	}
	// Each (network, venv) pair's steps share one stepIO, and each
	// network's steps one sandbox.
	type kind struct {
		net  sandbox.Net
		venv bool
	}
	ios := map[kind]*stepIO{}
	boxes := map[sandbox.Net]*runBox{}
	defer func() {
		for _, b := range boxes {
			b.close()
		}
	}()
	ioFor := func(k kind) *stepIO {
		if sx, ok := ios[k]; ok {
			return sx
		}
		sx := *base
		sx.box.Net = k.net
		sx.env = netEnv(sx.env, k.net)
		if k.venv && rp.venv != "" {
			sx.env = withVenv(sx.env, rp.venv)
		}
		if sx.box.Isolate {
			b := boxes[k.net]
			if b == nil {
				b = &runBox{spec: sx.box, refused: &refusals{}}
				if k.net == sandbox.NetEgress {
					b.spec.Proxy = (&egress.Proxy{Allow: r.EgressAllow, Upstream: http.ProxyFromEnvironment, Refused: b.refused.add}).Serve
				}
				boxes[k.net] = b
			}
			sx.sandbox = b
		}
		ios[k] = &sx
		return &sx
	}
	for pi, ph := range rp.phases {
		if ctx.Err() != nil {
			return
		}
		if pi == rp.setupEnd && setupDone != nil {
			setupDone()
		}
		k := kind{net: iso.setupNet, venv: ph.venv}
		if pi >= rp.setupEnd {
			k.net = iso.testNet
		}
		psx := ioFor(k)
		parallel := len(ph.lanes) > 1
		var wg sync.WaitGroup
		for _, l := range ph.lanes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, i := range l {
					if res.Steps[i].Cached {
						continue
					}
					res.Steps[i] = r.runStep(ctx, res.Steps[i], ph.dirs[i], psx, parallel, sc.reports.stepEnv(i, rp.pytest[i]))
					res.Steps[i].Tests = sc.reports.read(i, ph.dirs[i], lay, req.Config)
					if res.Steps[i].Result != Success {
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, l := range ph.lanes {
			for _, i := range l {
				if res.Steps[i].Result != Success {
					return
				}
			}
		}
	}
	if rp.setupEnd == len(rp.phases) && setupDone != nil {
		setupDone()
	}
}

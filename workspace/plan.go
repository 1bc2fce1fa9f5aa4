package workspace

import (
	"fmt"
	"sort"
	"strings"

	"github.com/provide-io/workspace-bot/internal/suggest"
)

// TestCommands are the workspace-level tests: [workspace.ci].test, or,
// when that is empty, [workspace.tasks].test.
func (c *Config) TestCommands() []string {
	if len(c.Workspace.CI.Test) > 0 {
		return c.Workspace.CI.Test
	}
	return c.Workspace.Tasks["test"]
}

// HasTests reports whether a run tests anything: a workspace test or a
// sibling's own test. Without one, validate warns and test refuses with
// NothingToTest, so that a build which ran nothing never reads as green.
func (c *Config) HasTests() bool {
	if len(c.TestCommands()) > 0 {
		return true
	}
	for _, s := range c.Siblings {
		if len(s.Test) > 0 {
			return true
		}
	}
	return false
}

// Task returns the commands of [workspace.tasks].<name>.
func (c *Config) Task(name string) ([]string, bool) {
	cmds, ok := c.Workspace.Tasks[name]
	return cmds, ok
}

// TaskNames lists [workspace.tasks], sorted.
func (c *Config) TaskNames() []string {
	names := make([]string, 0, len(c.Workspace.Tasks))
	for n := range c.Workspace.Tasks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StepEnv is the environment the config adds to every step, as sorted
// NAME=value pairs: [workspace.env] first, then [workspace.ci].env, whose
// values win for a name both set (the CI table is the more specific).
// Callers add it after the process environment and before their own
// variables (WORKSPACE_ROOT, WORKSPACE_CHANGESET), which the config may
// not set.
func (c *Config) StepEnv() []string {
	merged := map[string]string{}
	for k, v := range c.Workspace.Env {
		merged[k] = v
	}
	for k, v := range c.Workspace.CI.Env {
		merged[k] = v
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + merged[k]
	}
	return out
}

// WithoutSteps is a copy of the config that runs nothing: no setup (the
// default setup included), no hooks, no tests. Release planning uses it
// to check the siblings out through ci.
func (c *Config) WithoutSteps() *Config {
	out := *c
	out.Workspace.CI.Setup, out.Workspace.CI.Test = nil, nil
	out.Workspace.Hooks = Hooks{}
	out.Workspace.Tasks = nil
	out.Siblings = append([]Sibling(nil), c.Siblings...)
	for i := range out.Siblings {
		out.Siblings[i].Setup, out.Siblings[i].OwnSetup, out.Siblings[i].Test = nil, true, nil
	}
	return &out
}

// Presence is a fact the planner may not know.
type Presence int8

// Presence values; the zero value is Unknown.
const (
	Unknown Presence = iota
	Present
	Absent
)

// Facts are what Plan cannot read from the config: what is on disk and
// on PATH. ci knows them all before it runs a step; validate knows none,
// and then each undecided step says its condition in When.
type Facts struct {
	// Pyproject says, by sibling name, whether the sibling's checkout has
	// a pyproject.toml at its root; a name not in the map is unknown.
	Pyproject map[string]bool
	// UV says whether uv is on PATH.
	UV Presence
	// Python is the interpreter the shared venv is made with, as ci
	// selected it from [workspace.python].version; "" means python3.
	Python string
}

// Step is one command of a run. It runs with sh -c in the workspace root
// (Sibling "") or in the sibling's directory.
type Step struct {
	// Name is what reports call it: "setup", "venv", "pre_install",
	// "post_install", "test", or the task's name in a TaskPlan.
	Name    string
	Sibling string
	// Index is the step's 1-based position among the steps of the same
	// Name and Sibling, so that two "test" steps are told apart.
	Index   int
	Command string
	// From says where the command comes from, for people reading a plan:
	// "[workspace.ci].setup", "siblings[a].test", "default setup", ...
	From string
	// When is a condition the facts did not decide, such as "pyproject.toml
	// exists"; "" when the step runs. ci, knowing every fact, never sees one.
	When string
}

// Phase kinds, in the order a plan runs them.
const (
	PhaseSetup        = "setup"        // [workspace.ci].setup, in the workspace root
	PhaseVenv         = "venv"         // the shared venv of the default setup, created once
	PhasePreInstall   = "pre_install"  // [workspace.hooks].pre_install
	PhaseStage        = "stage"        // one build stage of sibling setups
	PhasePostInstall  = "post_install" // [workspace.hooks].post_install
	PhaseSiblingTests = "sibling tests"
	PhaseTests        = "tests" // the workspace tests (TestCommands)
	PhaseTask         = "task"  // a TaskPlan's task, in place of both test phases
)

// Phase is steps that may run side by side: one lane per sibling (a
// workspace-level phase has one lane), each lane's steps in order. A run
// stops after the first phase with a failed step.
type Phase struct {
	Kind string
	// Stage is the 1-based build stage of a PhaseStage (see Stages).
	Stage int
	Lanes [][]Step
}

// Plan is every step of a run, in order.
type Plan struct {
	// Venv is the shared venv's path relative to the workspace root when
	// the plan creates one (some sibling takes the default setup), else
	// "". Steps after the venv step should run with it active:
	// VIRTUAL_ENV set to it and its bin first on PATH.
	Venv   string
	Phases []Phase
}

// Steps flattens the plan in run order.
func (p Plan) Steps() []Step {
	var out []Step
	for _, ph := range p.Phases {
		for _, l := range ph.Lanes {
			out = append(out, l...)
		}
	}
	return out
}

// Plan lays out a run: [workspace.ci].setup; the shared venv when the
// default setup needs it; the pre_install hooks; each build stage's
// sibling setups, siblings side by side; the post_install hooks; the
// siblings' own tests; the workspace tests.
//
// The default setup: a sibling with a pyproject.toml and no setup key of
// its own is installed editable into one shared venv at
// [workspace.python].venv_path, which is created once per run, before
// the hooks, with the selected interpreter (kept when it already exists,
// as a restored cache does):
//
//	test -x "$WORKSPACE_ROOT/.venv/bin/python" || uv venv --python python3 "$WORKSPACE_ROOT/.venv"
//	uv pip install --python "$WORKSPACE_ROOT/.venv/bin/python" -e .
//
// and without uv, python3 -m venv and "$WORKSPACE_ROOT/.venv/bin/python"
// -m pip install -e . instead. The commands name the venv through
// $WORKSPACE_ROOT, which ci sets, because a sibling's directory is not
// below the workspace root. A sibling's own setup replaces the default;
// setup = [] turns it off.
func (c *Config) Plan(f Facts) Plan {
	p := c.setupPlan(f)
	var lanes [][]Step
	stages, _ := c.Stages()
	for _, st := range stages {
		for _, s := range st {
			if l := commandSteps("test", s.Name, s.Test, "siblings["+s.Name+"].test"); len(l) > 0 {
				lanes = append(lanes, l)
			}
		}
	}
	p.add(PhaseSiblingTests, 0, lanes...)
	from := "[workspace.ci].test"
	if len(c.Workspace.CI.Test) == 0 {
		from = "[workspace.tasks].test"
	}
	p.add(PhaseTests, 0, commandSteps("test", "", c.TestCommands(), from))
	return p
}

// TaskPlan is Plan with the named [workspace.tasks] entry run in place of
// the tests. An unknown name is an error that lists the tasks.
func (c *Config) TaskPlan(f Facts, task string) (Plan, error) {
	cmds, ok := c.Task(task)
	if !ok {
		names := c.TaskNames()
		if len(names) == 0 {
			return Plan{}, fmt.Errorf("unknown task %q (fix: define it under [workspace.tasks] in %s)", task, c.fileName())
		}
		hint := ""
		if m := suggest.Closest(task, names); m != "" {
			hint = "did you mean " + m + "? "
		}
		return Plan{}, fmt.Errorf("unknown task %q (fix: %sthe tasks are %s)", task, hint, strings.Join(names, ", "))
	}
	p := c.setupPlan(f)
	p.add(PhaseTask, 0, commandSteps(task, "", cmds, "[workspace.tasks]."+task))
	return p, nil
}

func (p *Plan) add(kind string, stage int, lanes ...[]Step) {
	var keep [][]Step
	for _, l := range lanes {
		if len(l) > 0 {
			keep = append(keep, l)
		}
	}
	if len(keep) > 0 {
		p.Phases = append(p.Phases, Phase{Kind: kind, Stage: stage, Lanes: keep})
	}
}

func commandSteps(name, sibling string, cmds []string, from string) []Step {
	out := make([]Step, len(cmds))
	for i, c := range cmds {
		out[i] = Step{Name: name, Sibling: sibling, Index: i + 1, Command: c, From: from}
	}
	return out
}

func (c *Config) setupPlan(f Facts) Plan {
	var p Plan
	p.add(PhaseSetup, 0, commandSteps("setup", "", c.Workspace.CI.Setup, "[workspace.ci].setup"))

	venv := c.Workspace.Python.VenvPath
	if venv == "" {
		venv = DefaultVenvPath
	}
	venvDir := `"$WORKSPACE_ROOT/` + venv + `"`
	venvPython := `"$WORKSPACE_ROOT/` + venv + `/bin/python"`
	python := f.Python
	if python == "" {
		python = "python3"
	}
	python = shellWord(python)
	uvCmd := "uv pip install --python " + venvPython + " -e ."
	pipCmd := venvPython + " -m pip install -e ."

	var stageLanes [][][]Step
	// The venv is certain once a sibling surely takes the default setup,
	// possible while it depends on an unknown pyproject.toml.
	certain, possible := false, false
	stages, _ := c.Stages()
	for _, st := range stages {
		var lanes [][]Step
		for _, s := range st {
			if s.HasOwnSetup() {
				lanes = append(lanes, commandSteps("setup", s.Name, s.Setup, "siblings["+s.Name+"].setup"))
				continue
			}
			has, known := f.Pyproject[s.Name]
			if known && !has {
				continue
			}
			step := Step{Name: "setup", Sibling: s.Name, Index: 1, From: "default setup"}
			var when []string
			if !known {
				when = append(when, "pyproject.toml exists")
			}
			switch f.UV {
			case Present:
				step.Command = uvCmd
			case Absent:
				step.Command = pipCmd
			default:
				step.Command = uvCmd
				when = append(when, "uv is on PATH (else: "+pipCmd+")")
			}
			step.When = strings.Join(when, "; ")
			certain = certain || known
			possible = true
			lanes = append(lanes, []Step{step})
		}
		stageLanes = append(stageLanes, lanes)
	}

	if possible {
		p.Venv = venv
		step := Step{Name: "venv", Index: 1, From: "default setup"}
		if !certain {
			step.When = "a sibling takes the default setup"
		}
		switch f.UV {
		case Present:
			step.Command = "uv venv --python " + python + " " + venvDir
		case Absent:
			step.Command = python + " -m venv " + venvDir
		default:
			step.Command = "uv venv --python " + python + " " + venvDir
			step.When = strings.Trim(step.When+"; uv is on PATH (else: "+python+" -m venv "+venvDir+")", "; ")
		}
		step.Command = "test -x " + venvPython + " || " + step.Command
		p.add(PhaseVenv, 0, []Step{step})
	}
	p.add(PhasePreInstall, 0, commandSteps("pre_install", "", c.Workspace.Hooks.PreInstall, "[workspace.hooks].pre_install"))
	for i, lanes := range stageLanes {
		p.add(PhaseStage, i+1, lanes...)
	}
	p.add(PhasePostInstall, 0, commandSteps("post_install", "", c.Workspace.Hooks.PostInstall, "[workspace.hooks].post_install"))
	return p
}

// shellWord quotes s for sh when it holds anything but a plain word.
func shellWord(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r == '/' || r == '.' || r == '_' || r == '-' || r == '+' || r == ':' || r == '=' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

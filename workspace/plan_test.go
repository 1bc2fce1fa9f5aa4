package workspace

import (
	"reflect"
	"strings"
	"testing"
)

const planConfig = `
[workspace]
name = "ws"
repo = "https://github.com/acme/ws.git"

[workspace.python]
venv_path = "env/py"

[workspace.tasks]
test = "python -m unittest"
lint = ["ruff check .", "mypy src"]

[workspace.hooks]
pre_install = "scripts/pre.sh"
post_install = ["scripts/post.sh", "scripts/post2.sh"]

[workspace.ci]
setup = ["echo ready"]

[[siblings]]
name = "base"

[[siblings]]
name = "mid"
depends_on = ["base"]
test = ["python -m unittest discover", "python -m doctest README.md"]

[[siblings]]
name = "own"
depends_on = ["base"]
setup = "make install"

[[siblings]]
name = "off"
setup = []

[[siblings]]
name = "docs"
`

func parsePlanConfig(t *testing.T) *Config {
	t.Helper()
	cfg, _, err := Parse("wrknv.toml", []byte(planConfig))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// describe renders a plan one step a line, phases separated by "|".
func describe(p Plan) string {
	var b strings.Builder
	for _, ph := range p.Phases {
		b.WriteString("| " + ph.Kind)
		if ph.Stage > 0 {
			b.WriteString(" " + string(rune('0'+ph.Stage)))
		}
		b.WriteString("\n")
		for _, l := range ph.Lanes {
			for _, s := range l {
				b.WriteString(s.Name + " " + s.Sibling + " #" + string(rune('0'+s.Index)) + ": " + s.Command)
				if s.When != "" {
					b.WriteString(" [when " + s.When + "]")
				}
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

func TestPlanWithKnownFacts(t *testing.T) {
	cfg := parsePlanConfig(t)
	setupOwn := cfg.Sibling("own")
	setupOff := cfg.Sibling("off")
	if !setupOwn.HasOwnSetup() || !setupOff.HasOwnSetup() || len(setupOff.Setup) != 0 || cfg.Sibling("base").HasOwnSetup() {
		t.Fatalf("setup presence not kept: own %+v off %+v", setupOwn, setupOff)
	}
	facts := Facts{Pyproject: map[string]bool{"base": true, "mid": true, "own": true, "off": true, "docs": false}, UV: Absent}
	want := `| setup
setup  #1: echo ready
| venv
venv  #1: test -x "$WORKSPACE_ROOT/env/py/bin/python" || python3 -m venv "$WORKSPACE_ROOT/env/py"
| pre_install
pre_install  #1: scripts/pre.sh
| stage 1
setup base #1: "$WORKSPACE_ROOT/env/py/bin/python" -m pip install -e .
| stage 2
setup mid #1: "$WORKSPACE_ROOT/env/py/bin/python" -m pip install -e .
setup own #1: make install
| post_install
post_install  #1: scripts/post.sh
post_install  #2: scripts/post2.sh
| sibling tests
test mid #1: python -m unittest discover
test mid #2: python -m doctest README.md
| tests
test  #1: python -m unittest
`
	p := cfg.Plan(facts)
	if got := describe(p); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
	if p.Venv != "env/py" {
		t.Errorf("Venv = %q", p.Venv)
	}

	facts.UV, facts.Python = Present, "/opt/py 3.11/bin/python3.11"
	p = cfg.Plan(facts)
	steps := p.Steps()
	if got := steps[1].Command; got != `test -x "$WORKSPACE_ROOT/env/py/bin/python" || uv venv --python '/opt/py 3.11/bin/python3.11' "$WORKSPACE_ROOT/env/py"` {
		t.Errorf("venv with uv = %s", got)
	}
	if got := steps[3].Command; got != `uv pip install --python "$WORKSPACE_ROOT/env/py/bin/python" -e .` {
		t.Errorf("install with uv = %s", got)
	}
}

func TestPlanWithoutDefaultSetupHasNoVenv(t *testing.T) {
	cfg := parsePlanConfig(t)
	p := cfg.Plan(Facts{Pyproject: map[string]bool{"base": false, "mid": false, "own": false, "off": false, "docs": false}, UV: Present})
	if p.Venv != "" {
		t.Errorf("Venv = %q with no pyproject.toml anywhere", p.Venv)
	}
	for _, s := range p.Steps() {
		if s.Name == "venv" || s.From == "default setup" || s.When != "" {
			t.Errorf("unexpected step %+v", s)
		}
	}
	// Known facts, but one sibling unknown: only its steps are conditional.
	p = cfg.Plan(Facts{Pyproject: map[string]bool{"base": false, "mid": false}, UV: Present})
	var when []string
	for _, s := range p.Steps() {
		if s.When != "" {
			when = append(when, s.Name+" "+s.Sibling+": "+s.When)
		}
	}
	if want := []string{"venv : a sibling takes the default setup", "setup docs: pyproject.toml exists"}; !reflect.DeepEqual(when, want) {
		t.Errorf("conditions = %q, want %q", when, want)
	}
}

func TestPlanWithUnknownFactsStatesTheRule(t *testing.T) {
	cfg := parsePlanConfig(t)
	p := cfg.Plan(Facts{})
	var got []string
	for _, s := range p.Steps() {
		if s.From == "default setup" {
			got = append(got, s.Name+" "+s.Sibling+": "+s.Command+" [when "+s.When+"]")
		}
	}
	want := []string{
		`venv : test -x "$WORKSPACE_ROOT/env/py/bin/python" || uv venv --python python3 "$WORKSPACE_ROOT/env/py" [when a sibling takes the default setup; uv is on PATH (else: python3 -m venv "$WORKSPACE_ROOT/env/py")]`,
		`setup base: uv pip install --python "$WORKSPACE_ROOT/env/py/bin/python" -e . [when pyproject.toml exists; uv is on PATH (else: "$WORKSPACE_ROOT/env/py/bin/python" -m pip install -e .)]`,
		`setup docs: uv pip install --python "$WORKSPACE_ROOT/env/py/bin/python" -e . [when pyproject.toml exists; uv is on PATH (else: "$WORKSPACE_ROOT/env/py/bin/python" -m pip install -e .)]`,
		`setup mid: uv pip install --python "$WORKSPACE_ROOT/env/py/bin/python" -e . [when pyproject.toml exists; uv is on PATH (else: "$WORKSPACE_ROOT/env/py/bin/python" -m pip install -e .)]`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTaskPlan(t *testing.T) {
	cfg := parsePlanConfig(t)
	p, err := cfg.TaskPlan(Facts{Pyproject: map[string]bool{}}, "lint")
	if err != nil {
		t.Fatal(err)
	}
	last := p.Phases[len(p.Phases)-1]
	if last.Kind != PhaseTask || len(last.Lanes) != 1 || len(last.Lanes[0]) != 2 || last.Lanes[0][1] != (Step{Name: "lint", Index: 2, Command: "mypy src", From: "[workspace.tasks].lint"}) {
		t.Errorf("task phase = %+v", last)
	}
	for _, ph := range p.Phases {
		if ph.Kind == PhaseTests || ph.Kind == PhaseSiblingTests {
			t.Errorf("a task plan runs the task in place of the tests: %+v", ph)
		}
	}
	_, err = cfg.TaskPlan(Facts{}, "lnit")
	if err == nil || err.Error() != `unknown task "lnit" (fix: did you mean lint? the tasks are lint, test)` {
		t.Errorf("err = %v", err)
	}
}

func TestWithoutSteps(t *testing.T) {
	cfg := parsePlanConfig(t)
	bare := cfg.WithoutSteps()
	if steps := bare.Plan(Facts{Pyproject: map[string]bool{"base": true, "mid": true, "docs": true}}).Steps(); len(steps) != 0 {
		t.Errorf("WithoutSteps still plans %v", steps)
	}
	if len(cfg.Plan(Facts{}).Steps()) == 0 || cfg.Sibling("base").HasOwnSetup() {
		t.Error("WithoutSteps changed the original")
	}
}

func TestStepEnvPrecedence(t *testing.T) {
	text := base + "\n[workspace.env]\nA = \"ws\"\nB = \"ws\"\nN = 1\nT = true\n\n[workspace.ci]\nenv = { B = \"ci\", C = \"ci\" }\n" + sib("a", "foundation")
	cfg, _, err := Parse("w.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.StepEnv(), []string{"A=ws", "B=ci", "C=ci", "N=1", "T=true"}; !reflect.DeepEqual(got, want) {
		t.Errorf("StepEnv = %v, want %v", got, want)
	}
}

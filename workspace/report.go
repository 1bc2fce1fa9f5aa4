package workspace

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Report is what validate says about a config, as JSON or text: the build
// order, its stages and the steps on success; the warnings always; the
// errors on failure.
type Report struct {
	Workspace string                   `json:"workspace,omitempty"`
	File      string                   `json:"file"`
	Valid     bool                     `json:"valid"`
	Order     []string                 `json:"order"`
	Stages    [][]string               `json:"stages"`
	Steps     []ReportStep             `json:"steps"`
	Wrknv     []string                 `json:"wrknv_sections"`
	Warnings  []ReportProblem          `json:"warnings"`
	Errors    []ReportProblem          `json:"errors,omitempty"`
	Tests     bool                     `json:"tests"`
	Siblings  map[string]ReportSibling `json:"siblings,omitempty"`

	cfg *Config
}

type ReportSibling struct {
	Layer     string   `json:"layer,omitempty"`
	DependsOn []string `json:"depends_on"`
	Repo      string   `json:"repo,omitempty"`
	Branch    string   `json:"branch"`
}

type ReportStep struct {
	Phase   string `json:"phase"`
	Stage   int    `json:"stage,omitempty"`
	Name    string `json:"name"`
	Sibling string `json:"sibling,omitempty"`
	Index   int    `json:"index"`
	Command string `json:"command"`
	From    string `json:"from"`
	When    string `json:"when,omitempty"`
}

type ReportProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	Text    string `json:"text"`
}

func problems(ps []Problem) []ReportProblem {
	out := make([]ReportProblem, len(ps))
	for i, p := range ps {
		out[i] = ReportProblem{File: p.File, Line: p.Line, Key: p.Key, Message: p.Message, Fix: p.Fix, Text: p.Error()}
	}
	return out
}

// NewReport describes the outcome of loading file: cfg, warnings and err
// as Load returned them.
func NewReport(file string, cfg *Config, warnings []Warning, err error) *Report {
	rep := &Report{File: file, Warnings: problems(warnings), Order: []string{}, Stages: [][]string{}, Steps: []ReportStep{}, Wrknv: []string{}}
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			rep.Errors = problems(ve.Problems)
		} else {
			rep.Errors = []ReportProblem{{File: file, Message: err.Error(), Text: err.Error()}}
		}
		return rep
	}
	rep.cfg = cfg
	stages, _ := cfg.Stages() // a config that loaded has an order
	order, _ := cfg.Order()
	rep.Workspace, rep.File, rep.Valid, rep.Tests = cfg.Workspace.Name, cfg.File, true, cfg.HasTests()
	rep.Wrknv = append(rep.Wrknv, cfg.Wrknv...)
	rep.Siblings = map[string]ReportSibling{}
	for _, s := range order {
		rep.Order = append(rep.Order, s.Name)
		rep.Siblings[s.Name] = ReportSibling{Layer: s.Layer, DependsOn: append([]string{}, s.DependsOn...), Repo: cfg.RepoURL(s), Branch: s.Branch}
	}
	for _, st := range stages {
		var names []string
		for _, s := range st {
			names = append(names, s.Name)
		}
		rep.Stages = append(rep.Stages, names)
	}
	for _, ph := range cfg.Plan(Facts{}).Phases {
		for _, l := range ph.Lanes {
			for _, s := range l {
				rep.Steps = append(rep.Steps, ReportStep{Phase: ph.Kind, Stage: ph.Stage, Name: s.Name, Sibling: s.Sibling,
					Index: s.Index, Command: s.Command, From: s.From, When: s.When})
			}
		}
	}
	if !rep.Tests {
		rep.Warnings = append(rep.Warnings, ReportProblem{File: cfg.File, Message: NothingToTest, Text: cfg.File + ": " + NothingToTest})
	}
	return rep
}

// WriteText prints the report for a person; verbose adds wrknv's own
// sections and where each step comes from. Warnings and errors are not
// part of it: they go to stderr.
func (r *Report) WriteText(w io.Writer, verbose bool) {
	cfg := r.cfg
	stages, _ := cfg.Stages()
	plan := cfg.Plan(Facts{})
	fmt.Fprintf(w, "%s: %d siblings, valid\n", cfg.Workspace.Name, len(cfg.Siblings))
	if verbose && len(cfg.Wrknv) > 0 {
		fmt.Fprintf(w, "passed over (wrknv's own): %s\n", strings.Join(cfg.Wrknv, ", "))
	}
	fmt.Fprintf(w, "\nbuild order, by stage (the siblings of a stage are set up side by side):\n")
	nameW, layerW := 0, 0
	for _, s := range cfg.Siblings {
		nameW, layerW = max(nameW, len(s.Name)), max(layerW, len(s.Layer))
	}
	for i, st := range stages {
		fmt.Fprintf(w, "  stage %d\n", i+1)
		for _, s := range st {
			line := fmt.Sprintf("    %-*s  %-*s", nameW, s.Name, layerW, s.Layer)
			if len(s.DependsOn) > 0 {
				line += "  <- " + strings.Join(s.DependsOn, ", ")
			}
			fmt.Fprintln(w, strings.TrimRight(line, " "))
		}
	}
	fmt.Fprintf(w, "\nsteps, in order:\n")
	if len(plan.Phases) == 0 {
		fmt.Fprintf(w, "  none\n")
	}
	undecided := false
	for _, ph := range plan.Phases {
		fmt.Fprintf(w, "  %s\n", phaseTitle(ph))
		for _, l := range ph.Lanes {
			for _, s := range l {
				who := ""
				if s.Sibling != "" {
					who = s.Sibling + ": "
				}
				switch {
				case s.When != "" && s.Name == "venv":
					fmt.Fprintf(w, "    created once when a sibling takes the default setup\n")
					undecided = true
				case s.When != "":
					fmt.Fprintf(w, "    %sdefault setup, when it has a pyproject.toml\n", who)
					undecided = true
				case verbose || s.From == "default setup":
					fmt.Fprintf(w, "    %s%s  (%s)\n", who, s.Command, s.From)
				default:
					fmt.Fprintf(w, "    %s%s\n", who, s.Command)
				}
			}
		}
	}
	if undecided {
		printDefaultSetup(w, cfg)
	}
}

// printDefaultSetup states the default setup rule with the commands Plan
// gives for each case, as validate does not look at the checkouts or PATH.
func printDefaultSetup(w io.Writer, cfg *Config) {
	all := map[string]bool{}
	for _, s := range cfg.Siblings {
		all[s.Name] = true
	}
	commands := func(uv Presence) (venv, install string) {
		for _, s := range cfg.Plan(Facts{Pyproject: all, UV: uv}).Steps() {
			switch {
			case s.From != "default setup":
			case s.Name == "venv":
				venv = s.Command
			case install == "":
				install = s.Command
			}
		}
		return venv, install
	}
	uvVenv, uvInstall := commands(Present)
	pipVenv, pipInstall := commands(Absent)
	fmt.Fprintf(w, "\ndefault setup, for a sibling with a pyproject.toml and no setup of its own:\n")
	fmt.Fprintf(w, "  an editable install into one shared venv, created once before the hooks\n")
	fmt.Fprintf(w, "  with uv:    %s\n              %s\n", uvVenv, uvInstall)
	fmt.Fprintf(w, "  without uv: %s\n              %s\n", pipVenv, pipInstall)
	if v := cfg.Workspace.Python.Version; !v.IsZero() {
		fmt.Fprintf(w, "  (python3 stands for the interpreter that [python] version %q selects)\n", v.String())
	}
}

func phaseTitle(ph Phase) string {
	switch ph.Kind {
	case PhaseSetup:
		return "workspace setup"
	case PhaseVenv:
		return "shared venv"
	case PhasePreInstall:
		return "pre_install hooks"
	case PhaseStage:
		return fmt.Sprintf("stage %d setup", ph.Stage)
	case PhasePostInstall:
		return "post_install hooks"
	case PhaseSiblingTests:
		return "sibling tests"
	case PhaseTests:
		return "workspace tests"
	}
	return ph.Kind
}

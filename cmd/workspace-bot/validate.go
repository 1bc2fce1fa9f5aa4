package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/provide-io/workspace-bot/workspace"
)

// validateReport is validate --json: the build order, its stages and the
// steps on success; the warnings always; the errors on failure.
type validateReport struct {
	Workspace string                  `json:"workspace,omitempty"`
	File      string                  `json:"file"`
	Valid     bool                    `json:"valid"`
	Order     []string                `json:"order"`
	Stages    [][]string              `json:"stages"`
	Steps     []validateStep          `json:"steps"`
	Wrknv     []string                `json:"wrknv_sections"`
	Warnings  []validateProblem       `json:"warnings"`
	Errors    []validateProblem       `json:"errors,omitempty"`
	Tests     bool                    `json:"tests"`
	Siblings  map[string]validateInfo `json:"siblings,omitempty"`
}

type validateInfo struct {
	Layer     string   `json:"layer,omitempty"`
	DependsOn []string `json:"depends_on"`
	Repo      string   `json:"repo,omitempty"`
	Branch    string   `json:"branch"`
}

type validateStep struct {
	Phase   string `json:"phase"`
	Stage   int    `json:"stage,omitempty"`
	Name    string `json:"name"`
	Sibling string `json:"sibling,omitempty"`
	Index   int    `json:"index"`
	Command string `json:"command"`
	From    string `json:"from"`
	When    string `json:"when,omitempty"`
}

type validateProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	Text    string `json:"text"`
}

func problems(ps []workspace.Problem) []validateProblem {
	out := make([]validateProblem, len(ps))
	for i, p := range ps {
		out[i] = validateProblem{File: p.File, Line: p.Line, Key: p.Key, Message: p.Message, Fix: p.Fix, Text: p.Error()}
	}
	return out
}

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", "validate [FILE | --config wrknv.toml] [--json] [-v]", stderr)
	config := fs.String("config", envOr(workspace.DefaultFileName, "WORKSPACE_BOT_CONFIG"), "path to wrknv.toml, or its directory")
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
	verbose := fs.BoolP("verbose", "v", false, "also list wrknv's own sections and where each step comes from")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() > 1:
		fmt.Fprintf(stderr, "error: two files given (%s); validate checks one\n\n", strings.Join(fs.Args(), ", "))
		fs.Usage()
		return exitUsage
	case fs.NArg() == 1 && fs.Changed("config"):
		fmt.Fprintf(stderr, "error: two files given (--config %s and %s); validate checks one\n\n", *config, fs.Arg(0))
		fs.Usage()
		return exitUsage
	case fs.NArg() == 1:
		*config = fs.Arg(0)
	}

	cfg, warnings, err := workspace.Load(*config)
	rep := validateReport{File: *config, Warnings: problems(warnings), Order: []string{}, Stages: [][]string{}, Steps: []validateStep{}, Wrknv: []string{}}
	var ve *workspace.ValidationError
	if err != nil {
		if errors.As(err, &ve) {
			rep.Errors = problems(ve.Problems)
		} else {
			rep.Errors = []validateProblem{{File: *config, Message: err.Error(), Text: err.Error()}}
		}
		if *asJSON {
			return writeReport(stdout, rep, exitUsage)
		}
		for _, w := range warnings {
			fmt.Fprintf(stderr, "warning: %s\n", w.Error())
		}
		if ve != nil {
			for _, p := range ve.Problems {
				fmt.Fprintf(stderr, "error: %s\n", p.Error())
			}
		} else {
			fmt.Fprintf(stderr, "error: %s\n", err)
		}
		return exitUsage
	}

	stages, _ := cfg.Stages() // a config that loaded has an order
	order, _ := cfg.Order()
	plan := cfg.Plan(workspace.Facts{})
	rep.Workspace, rep.File, rep.Valid, rep.Tests = cfg.Workspace.Name, cfg.File, true, cfg.HasTests()
	rep.Wrknv = append(rep.Wrknv, cfg.Wrknv...)
	rep.Siblings = map[string]validateInfo{}
	for _, s := range order {
		rep.Order = append(rep.Order, s.Name)
		rep.Siblings[s.Name] = validateInfo{Layer: s.Layer, DependsOn: append([]string{}, s.DependsOn...), Repo: cfg.RepoURL(s), Branch: s.Branch}
	}
	for _, st := range stages {
		var names []string
		for _, s := range st {
			names = append(names, s.Name)
		}
		rep.Stages = append(rep.Stages, names)
	}
	for _, ph := range plan.Phases {
		for _, l := range ph.Lanes {
			for _, s := range l {
				rep.Steps = append(rep.Steps, validateStep{Phase: ph.Kind, Stage: ph.Stage, Name: s.Name, Sibling: s.Sibling,
					Index: s.Index, Command: s.Command, From: s.From, When: s.When})
			}
		}
	}
	if !rep.Tests {
		rep.Warnings = append(rep.Warnings, validateProblem{File: cfg.File, Message: workspace.NothingToTest, Text: cfg.File + ": " + workspace.NothingToTest})
	}
	if *asJSON {
		return writeReport(stdout, rep, exitOK)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w.Text)
	}
	printValidation(stdout, cfg, stages, plan, *verbose)
	return exitOK
}

// writeReport prints rep as JSON and exits with code, or 3 when stdout
// fails.
func writeReport(w io.Writer, rep validateReport, code int) int {
	if c := writeJSON(w, rep); c != exitOK {
		return c
	}
	return code
}

func printValidation(w io.Writer, cfg *workspace.Config, stages [][]*workspace.Sibling, plan workspace.Plan, verbose bool) {
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
func printDefaultSetup(w io.Writer, cfg *workspace.Config) {
	all := map[string]bool{}
	for _, s := range cfg.Siblings {
		all[s.Name] = true
	}
	commands := func(uv workspace.Presence) (venv, install string) {
		for _, s := range cfg.Plan(workspace.Facts{Pyproject: all, UV: uv}).Steps() {
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
	uvVenv, uvInstall := commands(workspace.Present)
	pipVenv, pipInstall := commands(workspace.Absent)
	fmt.Fprintf(w, "\ndefault setup, for a sibling with a pyproject.toml and no setup of its own:\n")
	fmt.Fprintf(w, "  an editable install into one shared venv, created once before the hooks\n")
	fmt.Fprintf(w, "  with uv:    %s\n              %s\n", uvVenv, uvInstall)
	fmt.Fprintf(w, "  without uv: %s\n              %s\n", pipVenv, pipInstall)
	if v := cfg.Workspace.Python.Version; !v.IsZero() {
		fmt.Fprintf(w, "  (python3 stands for the interpreter that [workspace.python] version %q selects)\n", v.String())
	}
}

func phaseTitle(ph workspace.Phase) string {
	switch ph.Kind {
	case workspace.PhaseSetup:
		return "workspace setup"
	case workspace.PhaseVenv:
		return "shared venv"
	case workspace.PhasePreInstall:
		return "pre_install hooks"
	case workspace.PhaseStage:
		return fmt.Sprintf("stage %d setup", ph.Stage)
	case workspace.PhasePostInstall:
		return "post_install hooks"
	case workspace.PhaseSiblingTests:
		return "sibling tests"
	case workspace.PhaseTests:
		return "workspace tests"
	}
	return ph.Kind
}

// loadConfig loads and validates a config (a directory means its
// wrknv.toml), printing warnings and errors to stderr. It returns nil and
// the exit code when the config is unusable.
func loadConfig(file string, stderr io.Writer) (*workspace.Config, int) {
	cfg, warnings, err := workspace.Load(file)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w.Error())
	}
	var ve *workspace.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, p := range ve.Problems {
			fmt.Fprintf(stderr, "error: %s\n", p.Error())
		}
		return nil, exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "error: %s\n", err)
		return nil, exitUsage
	}
	return cfg, exitOK
}

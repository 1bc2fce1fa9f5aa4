package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/provide-io/workspace-bot/workspace"
)

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate", "validate [--config wrknv.toml] [--json]", stderr)
	config := fs.String("config", envOr(workspace.DefaultFileName, "WORKSPACE_BOT_CONFIG"), "path to wrknv.toml")
	asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, code := loadConfig(*config, stderr)
	if cfg == nil {
		return code
	}
	stages, err := cfg.Stages()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	order, _ := cfg.Order()
	if *asJSON {
		names := make([]string, len(order))
		for i, s := range order {
			names[i] = s.Name
		}
		out := struct {
			Workspace string   `json:"workspace"`
			Order     []string `json:"order"`
		}{cfg.Workspace.Name, names}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return exitInfra
		}
		return exitOK
	}
	stage := map[string]int{}
	for i, st := range stages {
		for _, s := range st {
			stage[s.Name] = i + 1
		}
	}
	fmt.Fprintf(stdout, "%s: %d siblings, valid\n\nbuild order (siblings in the same stage set up in parallel):\n", cfg.Workspace.Name, len(cfg.Siblings))
	for i, s := range order {
		deps := ""
		if len(s.DependsOn) > 0 {
			deps = "  <- " + strings.Join(s.DependsOn, ", ")
		}
		fmt.Fprintf(stdout, "%3d. %-20s %-13s stage %d%s\n", i+1, s.Name, s.Layer, stage[s.Name], deps)
	}
	return exitOK
}

// loadConfig loads and validates a config, printing warnings and errors to
// stderr. It returns nil and the exit code when the config is unusable.
func loadConfig(file string, stderr io.Writer) (*workspace.Config, int) {
	cfg, warnings, err := workspace.Load(file)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w.Error())
	}
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return nil, exitUsage
	}
	return cfg, exitOK
}

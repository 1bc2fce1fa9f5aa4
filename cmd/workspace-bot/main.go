// Command workspace-bot links pull requests across the sibling repositories
// of a meta-repository workspace, builds and tests them together, and
// reports one combined result on every linked PR.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/exitcode"
	"github.com/provide-io/workspace-bot/internal/secretenv"
)

// Exit codes, the same for every subcommand.
const (
	exitOK     = exitcode.OK
	exitFailed = exitcode.Failed
	exitUsage  = exitcode.Usage
	exitInfra  = exitcode.Infra
)

// command is one subcommand. run gets the arguments after its name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is the one list of subcommands, in the order help shows them.
var commands = []command{
	{"validate", "check wrknv.toml and print the build order", runValidate},
	{"test", "build and test the workspace at chosen refs", runTest},
	{"changeset", "resolve and print the changeset of a pull request", runChangeset},
	{"merge", "test a pull request's changeset and land it as one", runMerge},
	{"serve", "run the webhook service", runServe},
	{"app", "make the GitHub App that runs the service, in one step", runApp},
	{"action", "the GitHub Action's entry point: test the event's changeset", runAction},
	{"run-job", "the job of serve --executor actions: build one run's pinned plan, post the outcome", runRunJob},
	{"release", "plan coordinated releases, or open one release PR per sibling", runRelease},
	{"demo", "the whole loop on this machine, offline, in under a minute", runDemo},
	{"version", "print the version", runVersion},
}

var version = "dev"

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "serve" || os.Args[1] == "action" || os.Args[1] == "run-job") {
		s, err := secretenv.Protect(credentials, os.Args)
		if err != nil {
			fmt.Fprintf(os.Stderr, "workspace-bot %s: %s\n", os.Args[1], err)
			if errors.Is(err, secretenv.ErrSetOutside) {
				os.Exit(exitUsage)
			}
			os.Exit(exitInfra)
		}
		secrets = s
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help":
		usage(stdout)
		return exitOK
	case "--version":
		return runVersion(ctx, args[1:], stdout, stderr)
	case "help":
		return runHelp(ctx, args[1:], stdout, stderr)
	}
	if c := findCommand(args[0]); c != nil {
		return c.run(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "error: unknown command %q%s\n\n", args[0], commandSuggestion(args[0]))
	usage(stderr)
	return exitUsage
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// commandSuggestion is " (did you mean test?)" for a small typo.
func commandSuggestion(name string) string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return cli.Suggest(name, names)
}

// runHelp is "help" (the command list) and "help COMMAND" (its usage).
func runHelp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch len(args) {
	case 0:
		usage(stdout)
		return exitOK
	case 1:
		if c := findCommand(args[0]); c != nil {
			return c.run(ctx, []string{"--help"}, stdout, stderr)
		}
		fmt.Fprintf(stderr, "error: unknown command %q%s\n\n", args[0], commandSuggestion(args[0]))
		usage(stderr)
		return exitUsage
	}
	fmt.Fprintf(stderr, "error: help takes one command name, got %d words\n", len(args))
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: workspace-bot <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "workspace-bot help <command>" for a command's flags; "workspace-bot --version" prints the version.`)
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("version", "version\n\nPrints the version: the one set at link time, the module version go install\nrecorded, or the commit a checkout build recorded.", stderr)
	if code, ok := cli.ParseNoArgs(fs, args); !ok {
		return code
	}
	fmt.Fprintf(stdout, "workspace-bot %s\n", buildVersion())
	return exitOK
}

// buildVersion is the version set at link time, else the module version
// `go install` recorded, else the VCS revision a checkout build recorded.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return version
}

// userAgent names this build in every GitHub request.
func userAgent() string { return "workspace-bot/" + buildVersion() }

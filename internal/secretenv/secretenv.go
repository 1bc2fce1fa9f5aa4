// Package secretenv keeps credentials out of what other processes can
// read of this one. A process's environment and command line stay in
// /proc/<pid>/environ and /proc/<pid>/cmdline for its whole life, whatever
// Go's os.Unsetenv does to its own copy, and any process of the same user
// (a build step among them) can read them. So the service and the Action
// re-execute themselves first thing: the credentials leave the
// environment and the command line, and reach the new image through an
// inherited pipe, read once and closed. The process also stops being
// dumpable, so processes of the same user can neither read its memory,
// its /proc files nor attach to it.
package secretenv

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// fdVar names the descriptor the handover is read from, in the
// re-executed process; it carries no secret.
const fdVar = "WORKSPACE_BOT_SECRETS_FD"

// ErrSetOutside is a WORKSPACE_BOT_SECRETS_FD that workspace-bot did not
// set: a usage error, not a failure of the machine.
var ErrSetOutside = errors.New("workspace-bot sets this for itself; unset it")

// maxHandover bounds what is read from the pipe, and what is written to
// it before the exec (a pipe holds 64 KiB without a reader).
const maxHandover = 60 << 10

// Flag is a command-line flag whose value is a credential. Its value is
// handed over as the variable Var, which the program reads after the flag
// anyway; Instead names the ways to give it that nobody else can read.
type Flag struct {
	Name    string // without dashes: "github-token"
	Var     string // "WORKSPACE_BOT_GITHUB_TOKEN"
	Instead string // "--github-token-file FILE or WORKSPACE_BOT_GITHUB_TOKEN"
	// Is, when set, says whether a value is a credential at all (a flag
	// may take a file's path or the key itself).
	Is func(value string) bool
}

// Spec says which variables and flags carry credentials.
type Spec struct {
	Vars  []string
	Flags []Flag
}

// Secrets are the credentials handed over to this process.
type Secrets struct {
	env map[string]string
	// Warnings say what was given in a way others could read (a
	// credential on the command line), for the caller's log.
	Warnings []string
}

// handover is what crosses the pipe.
type handover struct {
	Env      map[string]string `json:"env"`
	Warnings []string          `json:"warnings,omitempty"`
}

// Getenv is os.Getenv that also sees the credentials handed over.
func (s *Secrets) Getenv(key string) string {
	if s != nil {
		if v, ok := s.env[key]; ok {
			return v
		}
	}
	return os.Getenv(key)
}

// Values are the credentials handed over, for censoring output.
func (s *Secrets) Values() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, v := range s.env {
		if v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// split takes the spec's credentials out of env and args: what is left,
// and what was taken, as variables. A flag's value wins over its
// variable's, as the flag would.
func split(spec Spec, env, args []string) (keptEnv, keptArgs []string, h handover) {
	h.Env = map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if slices.Contains(spec.Vars, k) {
			h.Env[k] = v
			continue
		}
		keptEnv = append(keptEnv, kv)
	}
	flags := map[string]Flag{}
	for _, f := range spec.Flags {
		flags[f.Name] = f
	}
	warned := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			keptArgs = append(keptArgs, args[i:]...)
			break
		}
		name, value, inline := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		f, ok := flags[name]
		if !strings.HasPrefix(a, "--") || !ok {
			keptArgs = append(keptArgs, a)
			continue
		}
		if !inline {
			if i+1 >= len(args) {
				// pflag names the missing value.
				keptArgs = append(keptArgs, a)
				continue
			}
			i++
			value = args[i]
		}
		if f.Is != nil && !f.Is(value) {
			keptArgs = append(keptArgs, args[i-boolInt(!inline):i+1]...)
			continue
		}
		h.Env[f.Var] = value
		if !warned[f.Name] {
			warned[f.Name] = true
			h.Warnings = append(h.Warnings, fmt.Sprintf("--%s on the command line can be read by every user of this machine (ps, /proc/PID/cmdline); use %s instead", f.Name, f.Instead))
		}
	}
	return keptEnv, keptArgs, h
}

func (h handover) empty() bool { return len(h.Env) == 0 && len(h.Warnings) == 0 }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

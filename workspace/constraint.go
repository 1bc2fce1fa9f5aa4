package workspace

import "github.com/provide-io/workspace-bot/internal/version"

// Constraint is a version requirement of [workspace.tools] and
// [workspace.python]; internal/version owns its reading and comparing.
type Constraint = version.Constraint

// ParseConstraint reads a constraint; the error says what is wrong with it.
func ParseConstraint(text string) (Constraint, error) { return version.ParseConstraint(text) }

// VersionIn finds the first version in a tool's --version output.
func VersionIn(output string) string { return version.VersionIn(output) }

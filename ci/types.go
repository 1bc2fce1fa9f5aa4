// Package ci materializes a workspace at chosen refs, runs its setup and
// tests, and reports per-step results. It knows nothing of GitHub.
package ci

import (
	"fmt"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/ci/junit"
	"github.com/provide-io/workspace-bot/lifecycle"
)

// Results, per step and per run, under the short names the runner uses;
// lifecycle owns them, and ranks them.
const (
	Success   = lifecycle.Success
	Failure   = lifecycle.Failure
	Error     = lifecycle.Error
	Cancelled = lifecycle.Cancelled
	Skipped   = lifecycle.Skipped
)

// Pin says what to check out for one sibling (or the workspace repo).
type Pin struct {
	// Ref is a branch, tag or SHA; "" means the sibling's branch tip.
	Ref string `json:"ref,omitempty"`
	// SHA, when set, is the exact commit to use (a PR head pinned at
	// resolution); Ref then only labels it.
	SHA string `json:"sha,omitempty"`
	// Base, when set in merge mode, is the branch the head is merged onto.
	Base string `json:"base,omitempty"`
	// URL, when set, is fetched for the head instead of the sibling's repo
	// (a PR from a fork).
	URL string `json:"url,omitempty"`
	// FetchRef, when set, is fetched from the sibling's repo to get SHA
	// (such as refs/pull/N/head), for commits no branch holds.
	FetchRef string `json:"fetch_ref,omitempty"`
}

// SiblingResult says what one sibling was built at.
type SiblingResult struct {
	Name string `json:"name"`
	Repo string `json:"repo"`
	Ref  string `json:"ref"`
	SHA  string `json:"sha"`
	// BaseSHA is the base commit the head was merged onto (merge mode).
	BaseSHA string `json:"base_sha,omitempty"`
	// Tree is the git tree checked out: the head's, or in merge mode the
	// merge's.
	Tree string `json:"tree,omitempty"`
	// Fetch says how the mirror was brought up to date: "fetched", or
	// why it was not ("commit already in the mirror", "tip unchanged");
	// "" when the sibling was never reached (see its checkout step).
	Fetch string `json:"fetch,omitempty"`
	// FetchMS and CheckoutMS time this sibling's fetch and checkout.
	FetchMS    int64 `json:"fetch_ms"`
	CheckoutMS int64 `json:"checkout_ms"`
}

// StepResult is one command's outcome.
type StepResult struct {
	// Name is checkout, setup, venv, pre_install, post_install, test, or
	// a task's name.
	Name    string `json:"name"`
	Sibling string `json:"sibling"` // "" for workspace-level steps
	// Index is the step's 1-based position among the steps of the same
	// Name and Sibling: two "test" steps of one sibling are 1 and 2.
	Index      int              `json:"index"`
	Command    string           `json:"command"`
	Result     lifecycle.Result `json:"result"`
	DurationMS int64            `json:"duration_ms"`
	LogTail    string           `json:"log_tail"`
	// Cached: the step did not run, and its Result is success: the
	// default setup's venv was already built for these inputs at this
	// path, or the sibling's setup inputs are unchanged since the run
	// SkippedSince names (see setupskip.go).
	Cached bool `json:"cached,omitempty"`
	// SkippedSince names the run that last did a setup skipped for its
	// unchanged inputs ("run 41").
	SkippedSince string `json:"skipped_since,omitempty"`
	// NotAffected says why a sibling's test did not run: the changeset
	// does not reach the sibling (its Result is skipped).
	NotAffected string `json:"not_affected,omitempty"`
	// Log is the step's whole output (capped), for run pages.
	Log string `json:"-"`
	// Tests is what the JUnit reports the step left in WORKSPACE_REPORTS
	// say; nil when it left none.
	Tests *junit.Report `json:"tests,omitempty"`
}

// Title names the step for people, told apart from every other step of
// the run: "test", "test alpha", "test alpha #2", "setup workspace".
func (s StepResult) Title() string {
	who := s.Sibling
	if who == "" {
		who = "workspace"
	}
	t := s.Name + " " + who
	if s.Index > 1 {
		t += fmt.Sprintf(" #%d", s.Index)
	}
	return t
}

// Shown is the step's result as reports show it: "not affected" and
// "cached" told apart from a plain skipped or success, so that a suite
// that did not run never reads as one that passed.
func (s StepResult) Shown() string {
	switch {
	case s.NotAffected != "":
		return "not affected"
	case s.SkippedSince != "":
		return "skipped: inputs unchanged since " + s.SkippedSince
	case s.Cached:
		return "cached"
	}
	return string(s.Result)
}

// Result is a whole run's outcome.
type Result struct {
	Result    lifecycle.Result `json:"result"`
	Changeset string           `json:"changeset"`
	Siblings  []SiblingResult  `json:"siblings"`
	Steps     []StepResult     `json:"steps"`
	Started   time.Time        `json:"started"`
	Duration  time.Duration    `json:"-"`
	// DurationMS is the whole run, FetchMS the wall time from the first
	// fetch to the last one done, CheckoutMS from the first checkout to
	// the last (siblings are fetched and checked out side by side, so
	// these overlap).
	DurationMS int64 `json:"duration_ms"`
	FetchMS    int64 `json:"fetch_ms"`
	CheckoutMS int64 `json:"checkout_ms"`
	// TimedOut is set when [workspace.ci].timeout ended the run (its
	// Result is then cancelled, and Error says which step it was in).
	TimedOut bool `json:"timed_out,omitempty"`
	// Root says how the build root came to be: reused (a warm root, only
	// what changed rewritten), new or fresh (see RootReused); "" with
	// --local.
	Root string `json:"root,omitempty"`
	// Cache says how [workspace.ci].cache (or the default setup's venv)
	// served the run: hit, restored or miss (see CacheHit); "" when
	// nothing is cached.
	Cache string `json:"cache,omitempty"`
	// Error explains an error result.
	Error string `json:"error,omitempty"`
	// Warnings are one-line notes for whoever runs the build, such as
	// steps that ran without a sandbox.
	Warnings []string `json:"warnings,omitempty"`
	// RetriedFlaky is how many times the run was run again because only
	// tests known to be flaky had failed ([workspace.ci].retry_flaky);
	// this result is the last run's.
	RetriedFlaky int `json:"retried_flaky,omitempty"`
	// Affected are the siblings whose tests the run selected, with why,
	// when it ran only the affected ones; nil when every test ran.
	Affected map[string]string `json:"affected,omitempty"`
	// Isolation says how the steps were kept from the machine; nil when
	// no step was run.
	Isolation *Isolation `json:"isolation,omitempty"`
	// BuildRoot is where the workspace was built, when Runner.Keep left it.
	BuildRoot string `json:"build_root,omitempty"`
}

// FirstFailure is the first step that neither succeeded nor was skipped,
// or nil.
func (r *Result) FirstFailure() *StepResult {
	for i := range r.Steps {
		if s := r.Steps[i].Result; s != Success && s != Skipped {
			return &r.Steps[i]
		}
	}
	return nil
}

// NotAffected lists the siblings whose tests did not run because the
// changeset does not affect them, in run order.
func (r *Result) NotAffected() []string {
	var out []string
	for _, s := range r.Steps {
		if s.NotAffected != "" && (len(out) == 0 || out[len(out)-1] != s.Sibling) {
			out = append(out, s.Sibling)
		}
	}
	return out
}

// Isolation says how a run's steps were kept from the machine, for the
// people reading its report.
type Isolation struct {
	// Sandbox: the steps ran in namespaces of their own.
	Sandbox bool `json:"sandbox"`
	// User the steps ran as: "uid 2147483000 (throwaway)", a build
	// user's name, "root", or "" for the service's own user.
	User string `json:"user,omitempty"`
	// SetupNetwork and TestNetwork are host, egress or isolated.
	SetupNetwork string `json:"setup_network"`
	TestNetwork  string `json:"test_network"`
	// Limits are the run's cgroup limits ("memory 4 GiB, 4096
	// processes"); "" when it had none.
	Limits string `json:"limits,omitempty"`
}

// networkWords says what a network is to a reader.
var networkWords = map[string]string{
	"host":     "the machine's network",
	"egress":   "the egress proxy only (not this machine, not metadata addresses)",
	"isolated": "no network (loopback only)",
}

// Line is the isolation in one line, as a summary shows it.
func (i Isolation) Line() string {
	var parts []string
	switch {
	case i.Sandbox && i.User != "":
		parts = append(parts, "in a sandbox as "+i.User)
	case i.Sandbox:
		parts = append(parts, "in a sandbox")
	default:
		parts = append(parts, "without a sandbox")
	}
	if i.SetupNetwork == i.TestNetwork {
		parts = append(parts, "network: "+networkWords[i.TestNetwork])
	} else {
		parts = append(parts, "setup: "+networkWords[i.SetupNetwork], "tests: "+networkWords[i.TestNetwork])
	}
	if i.Limits != "" {
		parts = append(parts, "limits: "+i.Limits)
	} else {
		parts = append(parts, "no resource limits")
	}
	return strings.Join(parts, "; ")
}

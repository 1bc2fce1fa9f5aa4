package release

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/gitauth"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/workspace"
)

// DefaultBranch is the release branch in every sibling's repository; a
// fixed name, so a re-run finds the branch and PR it made before.
const DefaultBranch = "workspace-bot/release"

// GitHub is what opening release PRs needs from GitHub.
type GitHub interface {
	// FindOpenPullRequest returns the open PR of repo whose head is
	// "owner:branch", or nil.
	FindOpenPullRequest(ctx context.Context, repo, head string) (*changeset.PR, error)
	CreatePullRequest(ctx context.Context, repo, head, base, title, body string) (*changeset.PR, error)
	EditPullRequest(ctx context.Context, repo string, number int, title, body string) error
}

// Target is where one entry's release goes.
type Target struct {
	Entry *Entry
	// PushURL is the sibling's repository.
	PushURL string
	// Base is the branch the PR targets, the sibling's branch.
	Base string
}

// Targets are where the plan's entries are pushed and opened: each
// sibling's repository, against its branch.
func Targets(cfg *workspace.Config, plan *Plan) []Target {
	var out []Target
	for _, e := range plan.Entries {
		s := cfg.Sibling(e.Sibling)
		out = append(out, Target{Entry: e, PushURL: cfg.RepoURL(s), Base: s.Branch})
	}
	return out
}

// OpenOptions configure Open.
type OpenOptions struct {
	Branch string // DefaultBranch when ""
	// DryRun computes and looks up everything, and writes nothing: no
	// commit, no push, no PR.
	DryRun bool
	// Authorization, when set, gives the HTTP Authorization header value
	// for pushing to a repository URL ("" for none).
	Authorization func(ctx context.Context, repoURL string) (string, error)
}

// Opened is what Open did for one sibling.
type Opened struct {
	Sibling string   `json:"name"`
	Repo    string   `json:"repo"`
	Branch  string   `json:"branch"`
	SHA     string   `json:"sha,omitempty"`
	Files   []string `json:"files"`
	// Push is "pushed", "unchanged" (the branch already held the commit)
	// or "would push".
	Push string `json:"push"`
	// PR is "created", "updated", "unchanged", "would create" or
	// "would update".
	PR     string `json:"pr"`
	Number int    `json:"number,omitempty"`
	URL    string `json:"url,omitempty"`
}

// Line is what was done for one sibling, for a person.
func (x Opened) Line() string {
	sha := ""
	if x.SHA != "" {
		sha = " (" + text.ShortSHA(x.SHA) + ")"
	}
	pr := x.PR
	if x.Number != 0 {
		pr += fmt.Sprintf(" %s#%d %s", x.Repo, x.Number, x.URL)
	} else {
		pr += " a PR in " + x.Repo
	}
	return fmt.Sprintf("%s: %s %s%s: %s; %s", x.Sibling, x.Push, x.Branch, sha, strings.Join(x.Files, ", "), pr)
}

// Open pushes one release branch per target and creates or updates its PR,
// each PR's body naming all the others with Depends-On lines, so the train
// is tested as one changeset. It never opens a second PR for a branch.
func Open(ctx context.Context, gh GitHub, p *Plan, targets []Target, opts OpenOptions) ([]Opened, error) {
	branch := opts.Branch
	if branch == "" {
		branch = DefaultBranch
	}
	out := make([]Opened, len(targets))
	prs := make([]*changeset.PR, len(targets))
	for i, t := range targets {
		e := t.Entry
		o := Opened{Sibling: e.Sibling, Repo: e.Repo, Branch: branch}
		files, err := p.Changes(e)
		if err != nil {
			return out, err
		}
		for f := range files {
			o.Files = append(o.Files, f)
		}
		sort.Strings(o.Files)
		if opts.DryRun {
			o.Push = "would push"
		} else {
			sha, err := WriteCommit(ctx, e.state, files, p.CommitMessage(e))
			if err != nil {
				return out, fmt.Errorf("%s: write the release commit: %w", e.Sibling, err)
			}
			o.SHA = sha
			auth := ""
			if opts.Authorization != nil {
				if auth, err = opts.Authorization(ctx, t.PushURL); err != nil {
					return out, fmt.Errorf("%s: credentials to push to %s: %w", e.Sibling, gitauth.Redact(t.PushURL), err)
				}
			}
			have, err := RemoteBranch(ctx, e.state.Dir, t.PushURL, auth, branch)
			if err != nil {
				return out, fmt.Errorf("%s: read %s of %s: %w", e.Sibling, branch, gitauth.Redact(t.PushURL), err)
			}
			o.Push = "unchanged"
			if have != sha {
				if err := Push(ctx, e.state.Dir, t.PushURL, auth, sha, branch); err != nil {
					return out, fmt.Errorf("%s: push %s to %s (check the token may push to %s): %w", e.Sibling, branch, gitauth.Redact(t.PushURL), e.Repo, err)
				}
				o.Push = "pushed"
			}
		}
		owner, _, _ := strings.Cut(e.Repo, "/")
		pr, err := gh.FindOpenPullRequest(ctx, e.Repo, owner+":"+branch)
		if err != nil {
			return out, fmt.Errorf("%s: look for an open release PR: %w", e.Sibling, err)
		}
		prs[i] = pr
		out[i] = o
	}

	// Create the missing PRs, then give every PR the Depends-On lines of
	// all the others, now that their numbers are known.
	for i, t := range targets {
		if prs[i] != nil {
			out[i].Number, out[i].URL, out[i].PR = prs[i].Number, prs[i].URL, "would update"
			continue
		}
		if opts.DryRun {
			out[i].PR = "would create"
			continue
		}
		e := t.Entry
		owner, _, _ := strings.Cut(e.Repo, "/")
		pr, err := gh.CreatePullRequest(ctx, e.Repo, owner+":"+branch, t.Base, p.Title(e), p.Body(e, refs(prs, i)))
		if err != nil {
			return out, fmt.Errorf("%s: open the release PR: %w", e.Sibling, err)
		}
		prs[i] = pr
		out[i].Number, out[i].URL, out[i].PR = pr.Number, pr.URL, "created"
	}
	if opts.DryRun {
		return out, nil
	}
	for i, t := range targets {
		title, body := p.Title(t.Entry), p.Body(t.Entry, refs(prs, i))
		if prs[i].Title == title && prs[i].Body == body {
			if out[i].PR != "created" {
				out[i].PR = "unchanged"
			}
			continue
		}
		if err := gh.EditPullRequest(ctx, t.Entry.Repo, prs[i].Number, title, body); err != nil {
			return out, fmt.Errorf("%s: update the release PR: %w", t.Entry.Sibling, err)
		}
		if out[i].PR != "created" {
			out[i].PR = "updated"
		}
	}
	return out, nil
}

// refs are the other PRs of the train.
func refs(prs []*changeset.PR, self int) []string {
	var out []string
	for i, pr := range prs {
		if i != self && pr != nil {
			out = append(out, pr.Ref())
		}
	}
	sort.Strings(out)
	return out
}

// Title is e's PR title.
func (p *Plan) Title(e *Entry) string {
	if !e.Released() {
		return fmt.Sprintf("Remove release notes consumed by the %s release train", p.Workspace)
	}
	return fmt.Sprintf("Release %s %s", e.Package, e.New)
}

// CommitMessage is e's release commit message.
func (p *Plan) CommitMessage(e *Entry) string {
	return p.Title(e) + "\n\n" + strings.Join(e.Why, "\n") + "\n"
}

// bodyMarker opens every release PR body.
const bodyMarker = "<!-- workspace-bot release: this description is rewritten on every `workspace-bot release open` -->"

// releaseLine names, in a release PR's body, the sibling and the version
// it releases: landing the release tags it.
const releaseLine = "<!-- workspace-bot release of %s %s -->"

var releaseLineRe = regexp.MustCompile(`(?m)^<!-- workspace-bot release of ([A-Za-z0-9._-]+) ([0-9A-Za-z.+!-]+) -->$`)

// Released reads, from a release PR's body, the sibling and version it
// releases; ok is false for any other body.
func Released(body string) (sibling, version string, ok bool) {
	if !strings.HasPrefix(body, bodyMarker+"\n") {
		return "", "", false
	}
	m := releaseLineRe.FindStringSubmatch(body)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// Notes are the release notes a release PR's body quotes (its changelog
// section), unquoted; "" when it quotes none.
func Notes(body string) string {
	_, after, ok := strings.Cut(body, "\n#### "+ChangelogFile+"\n\n")
	if !ok {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(after, "\n") {
		if l != ">" && !strings.HasPrefix(l, "> ") {
			break
		}
		lines = append(lines, strings.TrimPrefix(strings.TrimPrefix(l, ">"), " "))
	}
	return strings.TrimSpace(strings.Join(lines, "\n")) + "\n"
}

// Body is e's PR body: the whole train, e's changelog section (quoted, so
// none of its lines can pass for a Depends-On line) and a Depends-On line
// per other release PR.
func (p *Plan) Body(e *Entry, others []string) string {
	var b strings.Builder
	b.WriteString(bodyMarker + "\n")
	if e.Released() {
		fmt.Fprintf(&b, releaseLine+"\n", e.Sibling, e.New)
		fmt.Fprintf(&b, "Release of **%s %s** (from %s), part of the coordinated release of %s.\n\n", e.Package, e.New, dash(e.Old), p.Workspace)
	} else {
		fmt.Fprintf(&b, "No release of %s: this removes release notes it held for other siblings, part of the coordinated release of %s.\n\n", e.Sibling, p.Workspace)
	}
	b.WriteString(p.markdownTable())
	if e.Released() {
		b.WriteString("\n#### " + ChangelogFile + "\n\n")
		for _, l := range strings.Split(strings.TrimRight(p.Section(e), "\n"), "\n") {
			b.WriteString(strings.TrimRight("> "+l, " ") + "\n")
		}
	}
	if len(e.Fragments) > 0 {
		b.WriteString("\nRemoves: " + strings.Join(e.Fragments, ", ") + "\n")
	}
	if len(others) > 0 {
		b.WriteString("\n")
		for _, r := range others {
			b.WriteString("Depends-On: " + r + "\n")
		}
	}
	return b.String()
}

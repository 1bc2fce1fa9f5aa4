package ci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/internal/gitauth"
	"github.com/provide-io/workspace-bot/workspace"
)

// target is one repository to check out: a sibling or the workspace repo.
type target struct {
	name   string
	url    string
	branch string
	dir    string
	pin    Pin
}

// materializeAll checks out every sibling (and the workspace, pinned or
// copied) into the build root, in parallel. ok is false when a checkout
// failed in a way that is the change's fault (a merge conflict); err is
// bad input or infrastructure.
func (r *Runner) materializeAll(ctx context.Context, req Request, lay layout, res *Result) (ok bool, err error) {
	cfg := req.Config
	mode := cfg.Workspace.CI.Checkout
	order, _ := cfg.Order()

	var targets []target
	wsPin, wsPinned := req.Pins[cfg.Workspace.Name]
	if wsPinned {
		targets = append(targets, target{name: cfg.Workspace.Name, url: cfg.Workspace.Repo,
			branch: workspace.DefaultBranch, dir: lay.wsDir, pin: wsPin})
	}
	for _, s := range order {
		branch := s.Branch
		if branch == "" {
			branch = workspace.DefaultBranch
		}
		targets = append(targets, target{name: s.Name, url: cfg.RepoURL(s), branch: branch,
			dir: lay.dirs[s.Name], pin: req.Pins[s.Name]})
	}

	// A sibling nested inside the workspace checkout must wait for it.
	nested := false
	for _, d := range lay.dirs {
		if strings.HasPrefix(d, lay.wsDir+string(filepath.Separator)) {
			nested = true
		}
	}
	if !wsPinned {
		if err := r.copyWorkspace(cfg, lay); err != nil {
			return false, fmt.Errorf("copy the workspace %s into the build root: %w", cfg.Dir(), err)
		}
	} else if nested {
		sr, step, err := r.materialize(ctx, targets[0], mode)
		if err != nil {
			return false, err
		}
		res.Siblings = append(res.Siblings, sr)
		res.Steps = append(res.Steps, step)
		targets = targets[1:]
		if step.Result != Success {
			return false, nil
		}
	}

	par := r.Parallel
	if par <= 0 {
		par = DefaultParallel
	}
	matCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sibs := make([]SiblingResult, len(targets))
	steps := make([]StepResult, len(targets))
	errs := make([]error, len(targets))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-matCtx.Done():
				errs[i] = matCtx.Err()
				return
			}
			defer func() { <-sem }()
			sibs[i], steps[i], errs[i] = r.materialize(matCtx, t, mode)
			if errs[i] != nil {
				cancel() // one failure dooms the run: stop the others early
			}
		}()
	}
	wg.Wait()
	// Report the real failure, not the cancellations it caused.
	var first error
	for _, e := range errs {
		if e != nil && !errors.Is(e, context.Canceled) {
			first = e
			break
		}
	}
	if first == nil {
		for _, e := range errs {
			if e != nil {
				first = e
				break
			}
		}
	}
	if first != nil {
		return false, first
	}
	ok = true
	for i := range targets {
		res.Siblings = append(res.Siblings, sibs[i])
		res.Steps = append(res.Steps, steps[i])
		if steps[i].Result != Success {
			ok = false
		}
	}
	return ok, nil
}

// materialize fetches one repository into its mirror as needed and checks
// it out at its pin, merged onto the base in merge mode.
func (r *Runner) materialize(ctx context.Context, t target, mode string) (SiblingResult, StepResult, error) {
	m := r.mirrorFor(t.url)
	ref := t.pin.Ref
	if ref == "" && t.pin.SHA == "" {
		ref = t.branch
	}
	merge := mode == workspace.CheckoutMerge && t.pin.Base != ""
	want := t.pin.SHA
	if want == "" && isFullSHA(ref) {
		want = ref
	}
	sr := SiblingResult{Name: t.name, Repo: gitauth.Redact(t.url), Ref: ref}
	if sr.Ref == "" {
		sr.Ref = short(t.pin.SHA)
	}

	// Fetch, unless the mirror already holds the one commit wanted.
	start := time.Now()
	r.emit(Event{Kind: EventFetch, Sibling: t.name, Detail: gitauth.Redact(t.url)})
	skip := false
	if want != "" && !merge && t.pin.URL == "" {
		unlock, err := m.lock(ctx, false)
		if err != nil {
			return sr, StepResult{}, err
		}
		skip = m.hasCommit(ctx, want)
		unlock()
	}
	forkRef := ""
	if !skip {
		var err error
		forkRef, err = r.fetch(ctx, m, t)
		if err != nil {
			r.emit(Event{Kind: EventFetch, Done: true, Sibling: t.name, Result: Error, Duration: time.Since(start)})
			if ctx.Err() != nil {
				return sr, StepResult{}, ctx.Err()
			}
			return sr, StepResult{}, fmt.Errorf("sibling %s: fetch %s failed (check the URL and that the repository is reachable): %w", t.name, gitauth.Redact(t.url), err)
		}
	}
	detail := ""
	if skip {
		detail = "commit already in the mirror"
	}
	fetchTime := time.Since(start)
	r.emit(Event{Kind: EventFetch, Done: true, Sibling: t.name, Result: Success, Detail: detail, Duration: fetchTime})

	unlock, err := m.lock(ctx, false)
	if err != nil {
		return sr, StepResult{}, err
	}
	defer unlock()

	// Resolve what to build.
	var head string
	switch {
	case skip:
		head = want // checked above, under the same kind of lock
	case t.pin.SHA != "":
		if !m.hasCommit(ctx, t.pin.SHA) {
			return sr, StepResult{}, inputErr(fmt.Sprintf("sibling %s: commit %s not found in %s (check the SHA; list refs with: git ls-remote %s)",
				t.name, t.pin.SHA, gitauth.Redact(t.url), gitauth.Redact(t.url)))
		}
		head = t.pin.SHA
	case forkRef != "":
		sha, ok, err := m.resolve(ctx, forkRef)
		if err != nil {
			return sr, StepResult{}, err
		}
		if !ok {
			return sr, StepResult{}, inputErr(fmt.Sprintf("sibling %s: ref %q not found in %s", t.name, ref, gitauth.Redact(t.pin.URL)))
		}
		head = sha
	default:
		sha, ok, err := m.resolve(ctx, ref)
		if err != nil {
			return sr, StepResult{}, err
		}
		if !ok {
			return sr, StepResult{}, inputErr(fmt.Sprintf("sibling %s: ref %q not found in %s: no branch, tag or commit by that name (list them with: git ls-remote %s)",
				t.name, ref, gitauth.Redact(t.url), gitauth.Redact(t.url)))
		}
		head = sha
	}
	sr.SHA = head
	var base string
	if merge {
		sha, ok, err := m.resolve(ctx, t.pin.Base)
		if err != nil {
			return sr, StepResult{}, err
		}
		if !ok {
			return sr, StepResult{}, inputErr(fmt.Sprintf("sibling %s: base branch %q not found in %s (list branches with: git ls-remote --heads %s)",
				t.name, t.pin.Base, gitauth.Redact(t.url), gitauth.Redact(t.url)))
		}
		base = sha
		sr.BaseSHA = sha
	}

	// Check out.
	step := StepResult{Name: "checkout", Sibling: t.name, Command: "git checkout " + sr.Ref + " (" + short(head) + ")"}
	if merge {
		step.Command = fmt.Sprintf("git merge --no-ff %s (%s) onto %s (%s)", sr.Ref, short(head), t.pin.Base, short(base))
	}
	r.emit(Event{Kind: EventCheckout, Sibling: t.name, Command: step.Command})
	start = time.Now()
	log := &stepLog{}
	fmt.Fprintf(log, "fetched %s in %s%s\n", gitauth.Redact(t.url), fetchTime.Round(time.Millisecond), map[bool]string{true: " (commit already in the mirror)"}[skip])
	conflict, err := r.checkout(ctx, m, t.dir, head, base, sr.Ref, t.pin.Base)
	step.DurationMS = time.Since(start).Milliseconds()
	switch {
	case err != nil:
		r.emit(Event{Kind: EventCheckout, Done: true, Sibling: t.name, Command: step.Command, Result: Error, Duration: time.Since(start)})
		if ctx.Err() != nil {
			return sr, step, ctx.Err()
		}
		return sr, step, fmt.Errorf("sibling %s: check out %s into %s: %w", t.name, short(head), t.dir, err)
	case len(conflict) > 0:
		step.Result = Failure
		fmt.Fprintf(log, "merge conflict: %s (%s) does not merge cleanly onto %s (%s); conflicting files:\n  %s\n",
			sr.Ref, short(head), t.pin.Base, short(base), strings.Join(conflict, "\n  "))
		fmt.Fprintf(log, "fix: merge or rebase %s onto %s and push\n", t.pin.Base, sr.Ref)
	default:
		step.Result = Success
		if merge {
			fmt.Fprintf(log, "merged %s (%s) onto %s (%s)\n", sr.Ref, short(head), t.pin.Base, short(base))
		} else {
			fmt.Fprintf(log, "checked out %s at %s\n", sr.Ref, head)
		}
	}
	step.Log, step.LogTail = log.Log(), log.Tail()
	r.emit(Event{Kind: EventCheckout, Done: true, Sibling: t.name, Command: step.Command, Result: step.Result, Detail: short(head), Duration: time.Since(start)})
	return sr, step, nil
}

// fetch updates the mirror for t under its exclusive lock. For a pin from
// a fork it also fetches the fork's ref and returns where it was stored.
func (r *Runner) fetch(ctx context.Context, m *mirror, t target) (forkRef string, err error) {
	unlock, err := m.lock(ctx, true)
	if err != nil {
		return "", err
	}
	defer unlock()
	if err := m.init(ctx); err != nil {
		return "", err
	}
	var extra []string
	if t.pin.FetchRef != "" && t.pin.URL == "" {
		extra = append(extra, "+"+t.pin.FetchRef+":"+t.pin.FetchRef)
	}
	auth, err := r.authorization(ctx, m.url)
	if err != nil {
		return "", err
	}
	if err := m.fetch(ctx, auth, m.url, extra...); err != nil {
		return "", err
	}
	if t.pin.URL == "" {
		return "", nil
	}
	src := t.pin.FetchRef
	if src == "" {
		src = "refs/heads/" + t.pin.Ref
	}
	sum := sha256.Sum256([]byte(gitauth.Redact(t.pin.URL)))
	forkRef = "refs/forks/" + hex.EncodeToString(sum[:])[:12] + "/" + strings.TrimPrefix(src, "refs/")
	if auth, err = r.authorization(ctx, t.pin.URL); err != nil {
		return "", err
	}
	if err := m.fetch(ctx, auth, t.pin.URL, "+"+src+":"+forkRef); err != nil {
		return "", err
	}
	return forkRef, nil
}

// authorization asks Runner.Authorization for url's credentials.
func (r *Runner) authorization(ctx context.Context, url string) (string, error) {
	if r.Authorization == nil {
		return "", nil
	}
	auth, err := r.Authorization(ctx, url)
	if err != nil {
		return "", fmt.Errorf("credentials to fetch %s: %w", gitauth.Redact(url), err)
	}
	return auth, nil
}

// checkout makes dir a clone of the mirror at head, or at base with head
// merged onto it. A local clone with --shared borrows the mirror's objects
// through alternates instead of copying them, so it costs about what a
// worktree does while leaving the mirror untouched by whatever the build's
// steps do in the clone. conflict lists the files of a merge conflict.
func (r *Runner) checkout(ctx context.Context, m *mirror, dir, head, base, headLabel, baseLabel string) (conflict []string, err error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	if _, err := git(ctx, "", "clone", "--shared", "--no-checkout", "--quiet", "--template=", "--", m.dir, dir); err != nil {
		return nil, err
	}
	first := head
	if base != "" {
		first = base
	}
	if _, err := git(ctx, dir, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", first); err != nil {
		return nil, err
	}
	if base == "" {
		return nil, nil
	}
	msg := fmt.Sprintf("Merge %s into %s", headLabel, baseLabel)
	_, err = git(ctx, dir, "merge", "--no-ff", "--no-edit", "--quiet", "-m", msg, head)
	if err == nil {
		return nil, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	out, derr := git(ctx, dir, "diff", "--name-only", "--diff-filter=U")
	if derr != nil || out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

// copyWorkspace copies the user's workspace directory into the build root,
// so that nothing the steps do touches it. Git metadata, the virtualenv,
// nested siblings (checked out on their own) and the data dir are left out.
func (r *Runner) copyWorkspace(cfg *workspace.Config, lay layout) error {
	src, err := filepath.Abs(cfg.Dir())
	if err != nil {
		return err
	}
	skip := map[string]bool{
		filepath.Join(src, ".git"):  true,
		filepath.Join(src, ".venv"): true,
	}
	if v := cfg.Workspace.Python.VenvPath; v != "" {
		skip[filepath.Join(src, v)] = true
	}
	for _, s := range cfg.Siblings {
		skip[filepath.Join(src, s.Path)] = true
	}
	if d, err := filepath.Abs(r.DataDir); err == nil {
		skip[d] = true
	}
	skip[lay.root] = true
	return copyTree(src, lay.wsDir, func(p string) bool { return skip[p] })
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

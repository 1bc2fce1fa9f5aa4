package ci

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/provide-io/workspace-bot/internal/gitauth"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/workspace"
)

// target is one repository to check out: a sibling or the workspace repo.
type target struct {
	name   string
	url    string
	branch string
	dir    string
	pin    Pin
	sparse []string // cone-mode directories; nil for the whole tree
	spare  []string // paths below dir that a reused checkout keeps
}

// materializeAll checks out every sibling (and the workspace, pinned or
// copied) into the build root, in parallel, recording each in res. ok is
// false when a checkout failed in a way that is the change's fault (a
// merge conflict); err is bad input or infrastructure, and then the
// sibling it concerns has an error checkout step and every sibling not
// checked out because of it a skipped one.
func (r *Runner) materializeAll(ctx context.Context, req Request, lay layout, res *Result) (ok bool, err error) {
	cfg := req.Config
	mode := cfg.Workspace.CI.Checkout
	order, _ := cfg.Order()

	var targets []target
	wsPin, wsPinned := req.Pins[cfg.Workspace.Name]
	if wsPinned {
		targets = append(targets, target{name: cfg.Workspace.Name, url: cfg.Workspace.Repo,
			branch: workspaceBranch(cfg), dir: lay.wsDir, pin: wsPin})
	}
	for _, s := range order {
		targets = append(targets, target{name: s.Name, url: cfg.RepoURL(s), branch: s.Branch,
			dir: lay.dirs[s.Name], pin: req.Pins[s.Name], sparse: s.Sparse})
	}
	for i := range targets {
		targets[i].spare = lay.keep(targets[i].dir)
	}
	start := time.Now()
	var clock phaseClock
	defer func() {
		res.FetchMS, res.CheckoutMS = clock.millis(start)
	}()

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
		o := r.materialize(ctx, lay, targets[0], mode, &clock)
		outs := []outcome{o}
		for _, t := range targets[1:] {
			outs = append(outs, outcome{sr: blankSibling(t), step: blankCheckout(t)})
		}
		if o.err != nil || o.step.Result != Success {
			return false, record(targets, outs, res, o.err)
		}
		res.Siblings = append(res.Siblings, o.sr)
		res.Steps = append(res.Steps, o.step)
		targets = targets[1:]
	}

	par := r.Parallel
	if par <= 0 {
		par = DefaultParallel
	}
	matCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	outs := make([]outcome, len(targets))
	sem := make(chan struct{}, par)
	held, done := containers(targets), make([]chan struct{}, len(targets))
	for i := range done {
		done[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for i, t := range targets {
		outs[i] = outcome{sr: blankSibling(t), step: blankCheckout(t)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			for _, j := range held[i] {
				select {
				case <-done[j]:
				case <-matCtx.Done():
					return
				}
			}
			select {
			case sem <- struct{}{}:
			case <-matCtx.Done():
				return // never started: stays skipped
			}
			defer func() { <-sem }()
			if matCtx.Err() != nil {
				return
			}
			outs[i] = r.materialize(matCtx, lay, t, mode, &clock)
			if outs[i].err != nil {
				cancel() // one failure dooms the run: stop the others early
			}
		}()
	}
	wg.Wait()
	// Report the real failure, not the cancellations it caused.
	var first error
	for _, o := range outs {
		if o.err != nil && !errors.Is(o.err, context.Canceled) {
			first = o.err
			break
		}
	}
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	err = record(targets, outs, res, first)
	if err != nil {
		return false, err
	}
	ok = true
	for _, o := range outs {
		if o.step.Result != Success {
			ok = false
		}
	}
	return ok, nil
}

// outcome is one target's fetch and checkout.
type outcome struct {
	sr   SiblingResult
	step StepResult
	err  error
}

// blankSibling and blankCheckout stand for a target not (yet) reached.
func blankSibling(t target) SiblingResult {
	return SiblingResult{Name: t.name, Repo: gitauth.Redact(t.url), Ref: labelOf(t)}
}

func blankCheckout(t target) StepResult {
	return StepResult{Name: "checkout", Sibling: t.name, Command: "git checkout " + labelOf(t), Result: Skipped}
}

func labelOf(t target) string {
	switch {
	case t.pin.Ref != "":
		return t.pin.Ref
	case t.pin.SHA != "":
		return text.ShortSHA(t.pin.SHA)
	}
	return t.branch
}

// record appends every target's sibling and checkout step to res. When
// failed is set, the target whose error it is reads error and names it;
// every other target that did not finish its checkout reads skipped, with
// the reason, instead of an error of its own.
func record(targets []target, outs []outcome, res *Result, failed error) error {
	culprit := ""
	for i, o := range outs {
		if o.err != nil && o.err == failed && !errors.Is(failed, context.Canceled) && !errors.Is(failed, context.DeadlineExceeded) {
			culprit = targets[i].name
			break
		}
	}
	for i, o := range outs {
		switch {
		case failed == nil:
		case targets[i].name == culprit:
			o.step.Result = Error
			o.step.LogTail = gitauth.RedactText(failed.Error())
			o.step.Log = o.step.LogTail + "\n"
		case o.err != nil || o.step.Result == Skipped:
			o.step.Result = Skipped
			o.sr.Fetch = ""
			why := "the run was cancelled"
			if culprit != "" {
				why = culprit + " failed"
			}
			o.step.LogTail = "not checked out: " + why
			o.step.Log = o.step.LogTail + "\n"
		}
		res.Siblings = append(res.Siblings, o.sr)
		res.Steps = append(res.Steps, o.step)
	}
	return failed
}

// phaseClock keeps the span of the fetches and of the checkouts of one
// run, which overlap across siblings.
type phaseClock struct {
	mu                   sync.Mutex
	fetchEnd             time.Time
	checkoutStart, coEnd time.Time
}

func (c *phaseClock) fetched(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.fetchEnd) {
		c.fetchEnd = t
	}
}

func (c *phaseClock) checkedOut(from, to time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checkoutStart.IsZero() || from.Before(c.checkoutStart) {
		c.checkoutStart = from
	}
	if to.After(c.coEnd) {
		c.coEnd = to
	}
}

func (c *phaseClock) millis(start time.Time) (fetch, checkout int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fetchEnd.IsZero() {
		fetch = c.fetchEnd.Sub(start).Milliseconds()
	}
	if !c.coEnd.IsZero() {
		checkout = c.coEnd.Sub(c.checkoutStart).Milliseconds()
	}
	return fetch, checkout
}

// workspaceBranch is the branch the workspace repository is built from
// when it is pinned without a ref: [workspace].branch, or "" for the
// repository's default branch (asked with git ls-remote --symref).
func workspaceBranch(cfg *workspace.Config) string {
	return cfg.Workspace.Branch
}

// materialize fetches one repository into its mirror as needed and checks
// it out at its pin, merged onto the base in merge mode.
func (r *Runner) materialize(ctx context.Context, lay layout, t target, mode string, clock *phaseClock) outcome {
	m := r.mirrorFor(t.url)
	w := wanted{ref: t.pin.Ref, sha: t.pin.SHA, base: t.pin.Base, merge: mode == workspace.CheckoutMerge && t.pin.Base != ""}
	if w.ref == "" && w.sha == "" {
		w.ref = t.branch
	}
	if w.sha == "" && isFullSHA(w.ref) {
		w.sha = w.ref
	}
	o := outcome{sr: blankSibling(t), step: blankCheckout(t)}
	sr := &o.sr
	fail := func(err error) outcome {
		o.err = err
		return o
	}

	start := time.Now()
	r.progress(ctx, Event{Kind: EventFetch, Sibling: t.name, Detail: gitauth.Redact(t.url)})
	how, ref, forkRef, err := r.syncMirror(ctx, m, t, w)
	fetchTime := time.Since(start)
	sr.FetchMS = fetchTime.Milliseconds()
	clock.fetched(time.Now())
	if err != nil {
		if ctx.Err() != nil {
			r.progress(ctx, Event{Kind: EventFetch, Done: true, Sibling: t.name, Result: Skipped, Duration: fetchTime})
			return fail(ctx.Err())
		}
		r.progress(ctx, Event{Kind: EventFetch, Done: true, Sibling: t.name, Result: Error, Duration: fetchTime})
		var ie *InputError
		if errors.As(err, &ie) {
			return fail(err)
		}
		return fail(fmt.Errorf("sibling %s: fetch %s failed (check the URL and that the repository is reachable): %w", t.name, gitauth.Redact(t.url), err))
	}
	sr.Fetch = how
	w.ref = ref
	if t.pin.Ref == "" && t.pin.SHA == "" {
		sr.Ref = ref
	}
	detail := ""
	if how != fetchedNow {
		detail = how
	}
	r.progress(ctx, Event{Kind: EventFetch, Done: true, Sibling: t.name, Result: Success, Detail: detail, Duration: fetchTime})

	// A partial mirror gets the blobs this checkout needs first, which
	// writes to it: the exclusive lock then.
	partial := m.isPartial()
	unlock, err := m.lock(ctx, partial)
	if err != nil {
		return fail(err)
	}
	defer unlock()

	// A clone the last run left at the commit this run builds is kept as
	// it is when nothing can have moved it (see reuse.go): the mirror's
	// refs are as they were, so the ref resolves as it did.
	stampable := lay.stamps != nil && !w.merge && forkRef == "" && t.pin.URL == ""
	key := stampKey(lay, t.dir)
	var stamp *cloneStamp
	mdigest := ""
	if stampable && how != fetchedNow {
		if d, err := mirrorDigest(m); err == nil {
			mdigest = d
			if s, ok := lay.stamps.previous(key); ok && s.Mirror == d && s.Ref == w.ref && (w.sha == "" || w.sha == s.Head) && sameStrings(s.Sparse, t.sparse) {
				stamp = &s
			}
		}
	}
	var head, base string
	if stamp != nil {
		head = stamp.Head
	} else if head, base, err = r.resolve(ctx, m, t, w, how, forkRef); err != nil {
		return fail(err)
	}
	if partial && stamp == nil {
		commits, sparse := []string{head}, t.sparse
		if base != "" {
			// git merge writes an index of the whole tree, and refuses
			// entries whose blobs it lacks, sparse or not.
			commits, sparse = append(commits, base), nil
		}
		auth, err := r.authorization(ctx, m.url)
		if err == nil {
			err = m.backfill(ctx, auth, sparse, commits...)
		}
		if err != nil {
			return fail(fmt.Errorf("sibling %s: fetch the files to check out from %s: %w", t.name, gitauth.Redact(t.url), err))
		}
	}
	sr.SHA, sr.BaseSHA = head, base

	// Check out.
	step := &o.step
	step.Command = "git checkout " + sr.Ref + " (" + text.ShortSHA(head) + ")"
	if w.merge {
		step.Command = fmt.Sprintf("git merge --no-ff %s (%s) onto %s (%s)", sr.Ref, text.ShortSHA(head), t.pin.Base, text.ShortSHA(base))
	}
	if err := confine(lay, t.name, t.dir); err != nil {
		return fail(err)
	}
	r.progress(ctx, Event{Kind: EventCheckout, Sibling: t.name, Command: step.Command})
	start = time.Now()
	log := &stepLog{}
	note := ""
	if how != fetchedNow {
		note = " (" + how + ")"
	}
	fmt.Fprintf(log, "fetched %s in %s%s\n", gitauth.Redact(t.url), fetchTime.Round(time.Millisecond), note)
	kept := false
	if stamp != nil {
		ok, why, kerr := keepClone(ctx, t, *stamp)
		switch {
		case ok:
			kept = true
			fmt.Fprintf(log, "kept the clone as the last run left it at %s (nothing tracked changed; untracked and ignored files removed)\n", text.ShortSHA(head))
		case ctx.Err() != nil:
			return fail(ctx.Err())
		default:
			if kerr != nil {
				why += ": " + kerr.Error()
			}
			fmt.Fprintf(log, "switching the clone: %s\n", why)
		}
	}
	var conflict []string
	if !kept {
		conflict, err = r.checkout(ctx, m, t, head, base, sr.Ref)
	}
	d := time.Since(start)
	clock.checkedOut(start, time.Now())
	step.DurationMS = d.Milliseconds()
	sr.CheckoutMS = step.DurationMS
	switch {
	case err != nil:
		if ctx.Err() != nil {
			r.progress(ctx, Event{Kind: EventCheckout, Done: true, Sibling: t.name, Command: step.Command, Result: Skipped, Duration: d})
			return fail(ctx.Err())
		}
		r.progress(ctx, Event{Kind: EventCheckout, Done: true, Sibling: t.name, Command: step.Command, Result: Error, Duration: d})
		return fail(fmt.Errorf("sibling %s: check out %s into %s: %w", t.name, text.ShortSHA(head), t.dir, err))
	case len(conflict) > 0:
		step.Result = Failure
		fmt.Fprintf(log, "merge conflict: %s (%s) does not merge cleanly onto %s (%s); conflicting files:\n  %s\n",
			sr.Ref, text.ShortSHA(head), t.pin.Base, text.ShortSHA(base), strings.Join(conflict, "\n  "))
		fmt.Fprintf(log, "fix: merge or rebase %s onto %s and push\n", t.pin.Base, sr.Ref)
	default:
		step.Result = Success
		// The tree built, for whoever lands the change to compare with
		// what GitHub makes of it.
		if kept {
			sr.Tree = stamp.Tree
		} else if tree, err := git(ctx, t.dir, "rev-parse", "HEAD^{tree}"); err == nil {
			sr.Tree = tree
		}
		if stampable {
			r.stampClone(lay, key, m, t, w.ref, head, sr.Tree, mdigest)
		}
		if w.merge {
			fmt.Fprintf(log, "merged %s (%s) onto %s (%s)\n", sr.Ref, text.ShortSHA(head), t.pin.Base, text.ShortSHA(base))
		} else {
			fmt.Fprintf(log, "checked out %s at %s\n", sr.Ref, head)
		}
	}
	step.Log, step.LogTail = log.Log(), log.Tail()
	r.progress(ctx, Event{Kind: EventCheckout, Done: true, Sibling: t.name, Command: step.Command, Result: step.Result, Detail: text.ShortSHA(head), Duration: d})
	return o
}

// stampClone records what this run left the clone at t.dir at, after
// its last git command there, for the next run to prove it untouched.
// mdigest is the mirror's refs' digest, "" when not taken yet; the
// caller holds the mirror's lock.
func (r *Runner) stampClone(lay layout, key string, m *mirror, t target, ref, head, tree, mdigest string) {
	if mdigest == "" {
		d, err := mirrorDigest(m)
		if err != nil {
			return
		}
		mdigest = d
	}
	g, err := gitDirDigest(t.dir)
	if err != nil || tree == "" {
		return
	}
	lay.stamps.record(key, cloneStamp{Ref: ref, Head: head, Tree: tree, Sparse: t.sparse, Mirror: mdigest, Git: g})
}

// resolve turns what t wants into commits of the mirror: the head to
// build and, in merge mode, the base it is merged onto. The caller holds
// the mirror's shared lock.
func (r *Runner) resolve(ctx context.Context, m *mirror, t target, w wanted, how, forkRef string) (head, base string, err error) {
	switch {
	case how == fetchInMirror:
		head = w.sha // checked under the same kind of lock
	case w.sha != "":
		if !m.hasCommit(ctx, w.sha) {
			return "", "", inputErr(fmt.Sprintf("sibling %s: commit %s not found in %s (check the SHA; list refs with: git ls-remote %s)",
				t.name, w.sha, gitauth.Redact(t.url), gitauth.Redact(t.url)))
		}
		head = w.sha
	case forkRef != "":
		sha, ok, err := m.resolve(ctx, forkRef)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return "", "", inputErr(fmt.Sprintf("sibling %s: ref %q not found in %s", t.name, w.ref, gitauth.Redact(t.pin.URL)))
		}
		head = sha
	default:
		sha, ok, err := m.resolve(ctx, w.ref)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return "", "", inputErr(fmt.Sprintf("sibling %s: ref %q not found in %s: no branch, tag or commit by that name (list them with: git ls-remote %s)",
				t.name, w.ref, gitauth.Redact(t.url), gitauth.Redact(t.url)))
		}
		head = sha
	}
	if !w.merge {
		return head, "", nil
	}
	sha, ok, err := m.resolve(ctx, t.pin.Base)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "", inputErr(fmt.Sprintf("sibling %s: base branch %q not found in %s (list branches with: git ls-remote --heads %s)",
			t.name, t.pin.Base, gitauth.Redact(t.url), gitauth.Redact(t.url)))
	}
	return head, sha, nil
}

// copyWorkspace copies the user's workspace directory into the build root,
// so that nothing the steps do touches it. Git metadata, the virtualenv,
// nested siblings (checked out on their own) and the data dir are left out.
// In a reused root, whatever an earlier run left there goes first, but
// for the kept cache paths and the nested siblings' checkouts.
func (r *Runner) copyWorkspace(cfg *workspace.Config, lay layout) error {
	if err := emptyBut(lay.wsDir, lay.keep(lay.wsDir)); err != nil {
		return err
	}
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

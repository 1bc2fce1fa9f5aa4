package ci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gitauth"
)

// Why a mirror was or was not fetched, as SiblingResult.Fetch says it.
const (
	fetchedNow    = "fetched"
	fetchInMirror = "commit already in the mirror"
	fetchTipSame  = "tip unchanged"
)

// wanted is what one target needs from its mirror.
type wanted struct {
	ref   string // a branch, tag or SHA to build; "" is the remote's default branch
	sha   string // the exact commit, when known before fetching
	base  string // the branch to merge onto, in merge mode
	merge bool
}

// syncMirror brings t's mirror up to date as far as this run needs, and
// no further: a commit the mirror already holds needs no network at all;
// branch and tag tips are compared with the server's in one ls-remote,
// and only a mirror whose tips moved is fetched. It returns how the mirror
// was synced, the ref it resolved ("" as the remote's default branch) and,
// for a fork's pin, where the fork's ref was stored.
func (r *Runner) syncMirror(ctx context.Context, m *mirror, t target, w wanted) (how, ref, forkRef string, err error) {
	ref = w.ref
	// Asked at most once per sync, and only when the network is needed.
	auth, asked := "", false
	authorize := func() (string, error) {
		if !asked {
			auth, err = r.authorization(ctx, m.url)
			asked = err == nil
		}
		return auth, err
	}
	if w.sha != "" && !w.merge && t.pin.URL == "" {
		unlock, err := m.lock(ctx, false)
		if err != nil {
			return "", ref, "", err
		}
		has := m.hasCommit(ctx, w.sha)
		unlock()
		if has {
			return fetchInMirror, ref, "", nil
		}
	}
	if t.pin.URL == "" && t.pin.FetchRef == "" && m.exists() {
		auth, err := authorize()
		if err != nil {
			return "", ref, "", err
		}
		same, resolved, err := r.tipsUnchanged(ctx, m, auth, w)
		if err != nil {
			return "", ref, "", err
		}
		ref = resolved
		if same {
			return fetchTipSame, ref, "", nil
		}
	}
	if auth, err = authorize(); err != nil {
		return "", ref, "", err
	}
	if ref == "" && w.sha == "" {
		// The mirror is new: learn the default branch while fetching.
		if ref, err = r.defaultBranch(ctx, auth, m.url); err != nil {
			return "", ref, "", err
		}
	}
	forkRef, err = r.fetch(ctx, m, t, auth)
	return fetchedNow, ref, forkRef, err
}

// tipsUnchanged asks the server for the tips this run builds from (the
// ref, or the default branch when ref is "", and the merge base) and says
// whether the mirror already has every one of them, and the commit
// wanted. It also resolves "" to the default branch's name.
func (r *Runner) tipsUnchanged(ctx context.Context, m *mirror, auth string, w wanted) (same bool, ref string, err error) {
	ref = w.ref
	withHead := w.sha == "" && ref == ""
	var refNames, names []string
	if w.sha == "" && ref != "" && !isFullSHA(ref) {
		refNames = []string{"refs/heads/" + ref, "refs/tags/" + ref}
	}
	if w.sha == "" && ref != "" && len(refNames) == 0 {
		return false, ref, nil // a full SHA the mirror lacks
	}
	names = append(names, refNames...)
	if w.merge {
		names = append(names, "refs/heads/"+w.base)
	}
	remote, head, err := lsRemote(ctx, auth, m.url, withHead, names)
	if err != nil {
		return false, ref, err
	}
	if withHead {
		if head == "" {
			return false, ref, nil // no symref advertised: fetch, then guess
		}
		ref = head
		refNames = []string{"refs/heads/" + head}
		names = append(names, refNames...)
		if tip, ok := remote["HEAD"]; ok {
			if _, listed := remote[refNames[0]]; !listed {
				remote[refNames[0]] = tip
			}
		}
	}
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return false, ref, err
	}
	defer unlock()
	local, err := m.refs(ctx, names)
	if err != nil {
		return false, ref, err
	}
	// current: at least one of the names is on the server, and the mirror
	// has every one that is, at the same commit.
	current := func(cands []string) bool {
		seen := false
		for _, n := range cands {
			tip, ok := remote[n]
			if !ok {
				continue
			}
			seen = true
			if local[n] != tip {
				return false
			}
		}
		return seen
	}
	if len(refNames) > 0 && !current(refNames) {
		return false, ref, nil
	}
	if w.merge && !current([]string{"refs/heads/" + w.base}) {
		return false, ref, nil
	}
	if w.sha != "" && !m.hasCommit(ctx, w.sha) {
		return false, ref, nil
	}
	return true, ref, nil
}

// lsRemote lists the named refs of url (and, with head, the branch its
// HEAD points at) in one request.
func lsRemote(ctx context.Context, auth, url string, head bool, names []string) (tips map[string]string, headBranch string, err error) {
	if overHTTP(url) {
		if tips, headBranch, err := lsRefsHTTP(ctx, auth, url, head, names); err == nil || ctx.Err() != nil {
			return tips, headBranch, err
		}
	}
	args := []string{"ls-remote", "--symref", "--end-of-options", url}
	if head {
		args = append(args, "HEAD")
	}
	args = append(args, names...)
	out, err := gitWithEnv(ctx, "", gitauth.Env(auth), args...)
	if err != nil {
		return nil, "", err
	}
	tips = map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		left, name, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		if target, sym := strings.CutPrefix(left, "ref: "); sym {
			if name == "HEAD" {
				headBranch = strings.TrimPrefix(target, "refs/heads/")
			}
			continue
		}
		tips[name] = left
	}
	return tips, headBranch, nil
}

// defaultBranch is the branch url's HEAD points at, or DefaultBranch when
// the server does not say.
func (r *Runner) defaultBranch(ctx context.Context, auth, url string) (string, error) {
	_, head, err := lsRemote(ctx, auth, url, true, nil)
	if err != nil {
		return "", err
	}
	if head == "" {
		head = fallbackBranch
	}
	return head, nil
}

// fallbackBranch is built when a server names no default branch.
const fallbackBranch = "main"

// fetch updates the mirror for t under its exclusive lock. For a pin from
// a fork it also fetches the fork's ref and returns where it was stored.
// auth is the mirror URL's credentials.
func (r *Runner) fetch(ctx context.Context, m *mirror, t target, auth string) (forkRef string, err error) {
	unlock, err := m.lock(ctx, true)
	if err != nil {
		return "", err
	}
	defer unlock()
	filter := ""
	if wantsPartial(m, t) {
		filter = partialFilter
	}
	if err := m.init(ctx); err != nil {
		return "", err
	}
	var extra []string
	if t.pin.FetchRef != "" && t.pin.URL == "" {
		extra = append(extra, "+"+t.pin.FetchRef+":"+t.pin.FetchRef)
	}
	if err := m.fetch(ctx, auth, m.url, filter, extra...); err != nil {
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
	if err := m.fetch(ctx, auth, t.pin.URL, "", "+"+src+":"+forkRef); err != nil {
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
	if auth != "" {
		r.secretSet().add(auth) // a step that finds it must not print it
	}
	return auth, nil
}

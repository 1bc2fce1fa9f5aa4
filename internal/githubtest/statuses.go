package githubtest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

// resolveRef turns a SHA, branch or tag of repo into a commit SHA; "" when
// it names nothing.
func (s *Server) resolveRef(full, ref string) string {
	if ref == "" {
		return ""
	}
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	// A commit stays one: a SHA git has called a commit of this
	// repository is taken without asking again, as is a branch whose tip
	// is one. The reporting calls name the same few heads over and over.
	key := strings.ToLower(full) + " "
	known := ref
	if strings.HasPrefix(ref, "refs/heads/") {
		known, _ = gitfixture.ReadRef(s.RepoDir(full), ref)
	}
	if _, ok := s.commits[key+known]; ok {
		return known
	}
	sha, err := gitfixture.Git(s.RepoDir(full), "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil {
		return ""
	}
	if s.commits == nil {
		s.commits = map[string]struct{}{}
	}
	s.commits[key+sha] = struct{}{}
	return sha
}

// Statuses returns the statuses posted on sha in repo, oldest first.
func (s *Server) Statuses(full, sha string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(full)
	if rp == nil {
		return nil
	}
	var out []Status
	for _, st := range rp.statuses[sha] {
		out = append(out, Status{State: st.state, Context: st.context, Description: st.desc, TargetURL: st.target, Creator: st.creator})
	}
	return out
}

func (s *Server) statusJSON(full, sha string, st *status) map[string]any {
	creator := s.userJSON(st.creator)
	return map[string]any{
		"url":         s.api("repos/%s/statuses/%s", full, sha),
		"avatar_url":  creator["avatar_url"],
		"id":          st.id,
		"node_id":     nodeID("SC", st.id),
		"state":       st.state,
		"description": nullable(st.desc),
		"target_url":  nullable(st.target),
		"context":     st.context,
		"created_at":  ts(st.created),
		"updated_at":  ts(st.created),
		"creator":     creator,
	}
}

var statusStates = map[string]bool{"error": true, "failure": true, "pending": true, "success": true}

func (s *Server) createStatus(c *call) (int, any) {
	var in struct {
		State       string  `json:"state"`
		TargetURL   *string `json:"target_url"`
		Description *string `json:"description"`
		Context     *string `json:"context"`
	}
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	if !statusStates[in.State] {
		return invalid("Status", "state", "custom", "state is not included in the list")
	}
	full := c.repoName()
	sha := c.param("sha")
	// GitHub takes a full or abbreviated commit SHA here, not a branch.
	resolved := s.resolveRef(full, sha)
	if resolved == "" || len(sha) < 7 || !strings.HasPrefix(resolved, strings.ToLower(sha)) {
		return http.StatusUnprocessableEntity, errBody("No commit found for SHA: " + sha)
	}
	sha = resolved
	st := &status{state: in.State, context: "default", creator: c.who.login, created: now()}
	if in.Context != nil && *in.Context != "" {
		st.context = *in.Context
	}
	if in.Description != nil {
		st.desc = *in.Description
	}
	if in.TargetURL != nil {
		st.target = *in.TargetURL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(full)
	st.id = s.st.id()
	rp.statuses[sha] = append(rp.statuses[sha], st)
	return http.StatusCreated, s.statusJSON(rp.fullName(), sha, st)
}

// listStatuses answers newest first, as GitHub does.
func (s *Server) listStatuses(c *call) (int, any) {
	full := c.repoName()
	sha := s.resolveRef(full, c.param("ref"))
	if sha == "" {
		return notFound()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(full)
	all := rp.statuses[sha]
	rev := make([]*status, len(all))
	for i, st := range all {
		rev[len(all)-1-i] = st
	}
	lo, hi := c.page(len(rev))
	out := make([]any, 0, hi-lo)
	for _, st := range rev[lo:hi] {
		out = append(out, s.statusJSON(rp.fullName(), sha, st))
	}
	return http.StatusOK, out
}

// combinedStatus keeps the latest status per context; the state is failure
// if any of them is error or failure, pending if there are none or any is
// pending, and success otherwise.
func (s *Server) combinedStatus(c *call) (int, any) {
	full := c.repoName()
	sha := s.resolveRef(full, c.param("ref"))
	if sha == "" {
		return notFound()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(full)
	all := rp.statuses[sha]
	seen := map[string]bool{}
	var latest []*status
	for i := len(all) - 1; i >= 0; i-- {
		if !seen[all[i].context] {
			seen[all[i].context] = true
			latest = append(latest, all[i])
		}
	}
	state := "success"
	if len(latest) == 0 {
		state = "pending"
	}
	for _, st := range latest {
		switch st.state {
		case "error", "failure":
			state = "failure"
		case "pending":
			if state != "failure" {
				state = "pending"
			}
		}
	}
	lo, hi := c.page(len(latest))
	list := make([]any, 0, hi-lo)
	for _, st := range latest[lo:hi] {
		list = append(list, s.statusJSON(rp.fullName(), sha, st))
	}
	return http.StatusOK, map[string]any{
		"state":       state,
		"statuses":    list,
		"sha":         sha,
		"total_count": len(latest),
		"repository":  s.repoJSON(rp, false, nil),
		"commit_url":  s.api("repos/%s/commits/%s", rp.fullName(), sha),
		"url":         s.api("repos/%s/commits/%s/status", rp.fullName(), sha),
	}
}

// SetStatus posts a commit status on sha as user st.Creator would (another
// CI, say): State and Context are required.
func (s *Server) SetStatus(full, sha string, st Status) error {
	if !statusStates[st.State] || st.Context == "" {
		return fmt.Errorf("githubtest: status %+v: want a state GitHub knows and a context", st)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, err := s.repoOrErr(full)
	if err != nil {
		return err
	}
	rp.statuses[sha] = append(rp.statuses[sha], &status{id: s.st.id(), state: st.State, context: st.Context, desc: st.Description,
		target: st.TargetURL, creator: st.Creator, created: now()})
	return nil
}

package githubtest

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// pullJSON is GitHub's pull-request object; list endpoints return the
// pull-request-simple subset, which lacks merged, mergeable, comments and
// the diff counts, so code reading GetMerged() off a list result sees what
// it would on GitHub. The caller holds s.mu.
func (s *Server) pullJSON(rp *repo, p *pull, full bool) map[string]any {
	fn := rp.fullName()
	api := s.api("repos/%s", fn)
	html := s.url + "/" + fn + "/pull/" + strconv.Itoa(p.number)
	side := func(repoName, ref, sha string) map[string]any {
		r := s.st.repo(repoName)
		m := map[string]any{"ref": ref, "sha": sha, "label": ref, "user": nil, "repo": nil}
		if r != nil {
			m["label"] = r.owner + ":" + ref
			m["user"] = s.userJSON(r.owner)
			m["repo"] = s.repoJSON(r, false, nil)
		}
		return m
	}
	var mergedAt, mergeSHA any
	if p.merged {
		mergedAt, mergeSHA = ts(p.mergedAt), p.mergeSHA
	}
	m := map[string]any{
		"url":                 api + "/pulls/" + strconv.Itoa(p.number),
		"id":                  p.id,
		"node_id":             nodeID("PR", p.id),
		"html_url":            html,
		"diff_url":            html + ".diff",
		"patch_url":           html + ".patch",
		"issue_url":           api + "/issues/" + strconv.Itoa(p.number),
		"number":              p.number,
		"state":               p.state,
		"locked":              false,
		"title":               p.title,
		"user":                s.userJSON(p.user),
		"body":                nullable(p.body),
		"created_at":          ts(p.created),
		"updated_at":          ts(p.updated),
		"closed_at":           ts(p.closed),
		"merged_at":           mergedAt,
		"merge_commit_sha":    mergeSHA,
		"assignee":            nil,
		"assignees":           []any{},
		"requested_reviewers": []any{},
		"requested_teams":     []any{},
		"labels":              []any{},
		"milestone":           nil,
		"draft":               p.draft,
		"commits_url":         api + "/pulls/" + strconv.Itoa(p.number) + "/commits",
		"review_comments_url": api + "/pulls/" + strconv.Itoa(p.number) + "/comments",
		"review_comment_url":  api + "/pulls/comments{/number}",
		"comments_url":        api + "/issues/" + strconv.Itoa(p.number) + "/comments",
		"statuses_url":        api + "/statuses/" + p.headSHA,
		"head":                side(p.headRepo, p.headRef, p.headSHA),
		"base":                side(fn, p.baseRef, p.baseSHA),
		"_links": map[string]any{
			"self":            map[string]string{"href": api + "/pulls/" + strconv.Itoa(p.number)},
			"html":            map[string]string{"href": html},
			"issue":           map[string]string{"href": api + "/issues/" + strconv.Itoa(p.number)},
			"comments":        map[string]string{"href": api + "/issues/" + strconv.Itoa(p.number) + "/comments"},
			"review_comments": map[string]string{"href": api + "/pulls/" + strconv.Itoa(p.number) + "/comments"},
			"review_comment":  map[string]string{"href": api + "/pulls/comments{/number}"},
			"commits":         map[string]string{"href": api + "/pulls/" + strconv.Itoa(p.number) + "/commits"},
			"statuses":        map[string]string{"href": api + "/statuses/" + p.headSHA},
		},
		"author_association": p.assoc,
		"auto_merge":         nil,
		"active_lock_reason": nil,
	}
	if full {
		var mergeable any = true
		state := "clean"
		if p.state != "open" {
			mergeable, state = nil, "unknown"
		} else if p.draft {
			state = "draft"
		}
		var mergedBy any
		if p.merged {
			mergedBy = s.userJSON(p.mergedBy)
		}
		m["merged"] = p.merged
		m["mergeable"] = mergeable
		m["rebaseable"] = mergeable
		m["mergeable_state"] = state
		m["merged_by"] = mergedBy
		m["comments"] = len(p.comments)
		m["review_comments"] = 0
		m["maintainer_can_modify"] = false
		m["commits"] = 1
		m["additions"] = 0
		m["deletions"] = 0
		m["changed_files"] = 0
	}
	return m
}

// nullable renders an empty text as null, as GitHub does for an empty
// pull request or issue body.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) listPulls(c *call) (int, any) {
	state := c.query("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		return invalid("PullRequest", "state", "invalid", "state must be one of open, closed, all")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(c.repoName())
	var headOwner, headRef string
	if h := c.query("head"); h != "" {
		var ok bool
		if headOwner, headRef, ok = strings.Cut(h, ":"); !ok {
			headOwner, headRef = rp.owner, h
		}
	}
	base := c.query("base")
	var out []*pull
	for _, p := range rp.pulls {
		if state != "all" && p.state != state {
			continue
		}
		if headRef != "" && (p.headRef != headRef || !strings.EqualFold(strings.Split(p.headRepo, "/")[0], headOwner)) {
			continue
		}
		if base != "" && p.baseRef != base {
			continue
		}
		out = append(out, p)
	}
	sortBy, dir := c.query("sort"), c.query("direction")
	if dir == "" {
		dir = "asc"
		if sortBy == "" || sortBy == "created" {
			dir = "desc"
		}
	}
	key := func(p *pull) int64 {
		if sortBy == "updated" {
			return p.updated.UnixNano()*1000 + int64(p.number)
		}
		return int64(p.number) // numbers grow with creation time
	}
	sort.Slice(out, func(i, j int) bool {
		if dir == "desc" {
			return key(out[i]) > key(out[j])
		}
		return key(out[i]) < key(out[j])
	})
	lo, hi := c.page(len(out))
	list := make([]any, 0, hi-lo)
	for _, p := range out[lo:hi] {
		list = append(list, s.pullJSON(rp, p, false))
	}
	return http.StatusOK, list
}

func (s *Server) getPull(c *call) (int, any) {
	n, ok := c.intParam("number")
	mergeable, state := s.mergeability(c.repoName(), int(n))
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(c.repoName())
	p := rp.pulls[int(n)]
	if !ok || p == nil {
		return notFound()
	}
	m := s.pullJSON(rp, p, true)
	if p.state == "open" {
		m["mergeable"], m["rebaseable"], m["mergeable_state"] = mergeable, mergeable, state
	}
	return http.StatusOK, m
}

func (s *Server) editPull(c *call) (int, any) {
	n, ok := c.intParam("number")
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	if in.Base != nil && s.resolveRef(c.repoName(), "refs/heads/"+*in.Base) == "" {
		return invalid("PullRequest", "base", "invalid", "Proposed base branch '"+*in.Base+"' was not found")
	}
	s.mu.Lock()
	rp := s.st.repo(c.repoName())
	p := rp.pulls[int(n)]
	if !ok || p == nil {
		s.mu.Unlock()
		return notFound()
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		s.mu.Unlock()
		return invalid("PullRequest", "state", "invalid", "")
	}
	if in.State != nil && *in.State == "open" && p.merged {
		s.mu.Unlock()
		return invalid("PullRequest", "state", "custom", "state cannot be changed. The pull request has been merged.")
	}
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		s.mu.Unlock()
		return invalid("PullRequest", "title", "missing_field", "")
	}
	t := now()
	reopened := false
	if in.Title != nil {
		p.title = *in.Title
	}
	if in.Body != nil {
		p.body = *in.Body
	}
	if in.Base != nil {
		p.baseRef = *in.Base
	}
	if in.State != nil && *in.State != p.state {
		p.state = *in.State
		if p.state == "closed" {
			p.closed = t
		} else {
			p.closed, reopened = timeZero, true
		}
	}
	p.updated = t
	headRepo := p.headRepo
	s.mu.Unlock()
	if reopened || in.Base != nil {
		s.syncPRHeads(headRepo)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.StatusOK, s.pullJSON(rp, p, true)
}

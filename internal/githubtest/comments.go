package githubtest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

// Comments returns the comments on issue or pull request number, oldest
// first.
func (s *Server) Comments(full string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.st.repo(full)
	if rp == nil || rp.pulls[number] == nil {
		return nil
	}
	var out []Comment
	for _, id := range rp.pulls[number].comments {
		out = append(out, s.st.comments[id].snapshot())
	}
	return out
}

// AddComment posts a comment as a person would through the web interface.
func (s *Server) AddComment(full string, number int, user, association, body string) (Comment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, p, err := s.lookupPull(full, number)
	if err != nil {
		return Comment{}, err
	}
	if association == "" {
		association = rp.association(user)
	}
	return s.addComment(rp, p, user, association, body).snapshot(), nil
}

// Reactions returns the contents of the reactions on a comment, in the
// order they were made.
func (s *Server) Reactions(full string, commentID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.comments[commentID]
	if c == nil || !strings.EqualFold(c.repo, full) {
		return nil
	}
	var out []string
	for _, r := range c.reactions {
		out = append(out, r.content)
	}
	return out
}

// association is what GitHub shows next to user's comments on rp. The
// caller holds s.mu.
func (rp *repo) association(user string) string {
	switch {
	case strings.EqualFold(user, rp.owner):
		return "OWNER"
	case rp.role(user) != "none":
		return "COLLABORATOR"
	default:
		return "NONE"
	}
}

func (s *Server) addComment(rp *repo, p *pull, user, assoc, body string) *comment {
	t := now()
	c := &comment{id: s.st.id(), repo: rp.fullName(), number: p.number, body: body, user: user, assoc: assoc, created: t, updated: t}
	s.st.comments[c.id] = c
	p.comments = append(p.comments, c.id)
	s.st.userID(user)
	return c
}

func (s *Server) commentJSON(c *comment) map[string]any {
	api := s.api("repos/%s/issues", c.repo)
	counts := map[string]any{"url": api + "/comments/" + strconv.FormatInt(c.id, 10) + "/reactions", "total_count": len(c.reactions)}
	for _, k := range reactionContents {
		counts[k] = 0
	}
	for _, r := range c.reactions {
		counts[r.content] = counts[r.content].(int) + 1
	}
	var app any
	if strings.HasSuffix(c.user, "[bot]") {
		app = s.appJSONFor(c.user)
	}
	return map[string]any{
		"id":                       c.id,
		"node_id":                  nodeID("IC", c.id),
		"url":                      api + "/comments/" + strconv.FormatInt(c.id, 10),
		"html_url":                 fmt.Sprintf("%s/%s/pull/%d#issuecomment-%d", s.url, c.repo, c.number, c.id),
		"body":                     c.body,
		"user":                     s.userJSON(c.user),
		"created_at":               ts(c.created),
		"updated_at":               ts(c.updated),
		"issue_url":                api + "/" + strconv.Itoa(c.number),
		"author_association":       c.assoc,
		"performed_via_github_app": app,
		"reactions":                counts,
	}
}

// issue finds the pull request behind /issues/{number}; the caller holds
// s.mu.
func (s *Server) issue(c *call) (*repo, *pull) {
	n, ok := c.intParam("number")
	rp := s.st.repo(c.repoName())
	if !ok || rp == nil {
		return nil, nil
	}
	return rp, rp.pulls[int(n)]
}

func (s *Server) listComments(c *call) (int, any) {
	var since time.Time
	if v := c.query("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return invalid("IssueComment", "since", "invalid", "since must be an ISO 8601 timestamp")
		}
		since = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, p := s.issue(c)
	if p == nil {
		return notFound()
	}
	var list []*comment
	for _, id := range p.comments {
		if cm := s.st.comments[id]; !cm.updated.Before(since) {
			list = append(list, cm)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	lo, hi := c.page(len(list))
	out := make([]any, 0, hi-lo)
	for _, cm := range list[lo:hi] {
		out = append(out, s.commentJSON(cm))
	}
	return http.StatusOK, out
}

func (s *Server) createComment(c *call) (int, any) {
	var in struct {
		Body *string `json:"body"`
	}
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, p := s.issue(c)
	if p == nil {
		return notFound()
	}
	if in.Body == nil || *in.Body == "" {
		return invalid("IssueComment", "body", "missing_field", "")
	}
	if len(*in.Body) > 65536 {
		return invalid("IssueComment", "body", "custom", "body is too long (maximum is 65536 characters)")
	}
	cm := s.addComment(rp, p, c.who.login, rp.association(c.who.login), *in.Body)
	c.header.Set("Location", s.api("repos/%s/issues/comments/%d", cm.repo, cm.id))
	return http.StatusCreated, s.commentJSON(cm)
}

// commentByID finds a comment of the path's repository; the caller holds
// s.mu.
func (s *Server) commentByID(c *call) *comment {
	id, ok := c.intParam("id")
	if !ok {
		return nil
	}
	cm := s.st.comments[id]
	if cm == nil || !strings.EqualFold(cm.repo, c.repoName()) {
		return nil
	}
	return cm
}

func (s *Server) getComment(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cm := s.commentByID(c)
	if cm == nil {
		return notFound()
	}
	return http.StatusOK, s.commentJSON(cm)
}

func (s *Server) editComment(c *call) (int, any) {
	var in struct {
		Body *string `json:"body"`
	}
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cm := s.commentByID(c)
	if cm == nil {
		return notFound()
	}
	if in.Body == nil || *in.Body == "" {
		return invalid("IssueComment", "body", "missing_field", "")
	}
	if len(*in.Body) > 65536 {
		return invalid("IssueComment", "body", "custom", "body is too long (maximum is 65536 characters)")
	}
	cm.body, cm.updated = *in.Body, now()
	cm.edits++
	return http.StatusOK, s.commentJSON(cm)
}

func (s *Server) reactionJSON(r *reaction) map[string]any {
	return map[string]any{
		"id": r.id, "node_id": nodeID("REA", r.id), "user": s.userJSON(r.user),
		"content": r.content, "created_at": ts(r.created),
	}
}

// createReaction answers 201 for a new reaction and 200 with the existing
// one when the caller already reacted with that content.
func (s *Server) createReaction(c *call) (int, any) {
	var in struct {
		Content string `json:"content"`
	}
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	valid := false
	for _, k := range reactionContents {
		valid = valid || k == in.Content
	}
	if !valid {
		return invalid("Reaction", "content", "invalid", "")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cm := s.commentByID(c)
	if cm == nil {
		return notFound()
	}
	for _, r := range cm.reactions {
		if r.content == in.Content && strings.EqualFold(r.user, c.who.login) {
			return http.StatusOK, s.reactionJSON(r)
		}
	}
	r := &reaction{id: s.st.id(), user: c.who.login, content: in.Content, created: now()}
	cm.reactions = append(cm.reactions, r)
	return http.StatusCreated, s.reactionJSON(r)
}

func (s *Server) listReactions(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cm := s.commentByID(c)
	if cm == nil {
		return notFound()
	}
	var list []*reaction
	for _, r := range cm.reactions {
		if q := c.query("content"); q == "" || q == r.content {
			list = append(list, r)
		}
	}
	lo, hi := c.page(len(list))
	out := make([]any, 0, hi-lo)
	for _, r := range list[lo:hi] {
		out = append(out, s.reactionJSON(r))
	}
	return http.StatusOK, out
}

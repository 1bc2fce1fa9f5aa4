package githubtest

import (
	"net/http"
	"strings"
)

const createPullDocs = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"

// createPull is POST /repos/{owner}/{repo}/pulls. head is "branch" or
// "owner:branch"; an open PR for the same head and base is GitHub's 422
// "A pull request already exists for owner:branch.".
func (s *Server) createPull(c *call) (int, any) {
	var in struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
	}
	if st, b := c.decode(&in); st != 0 {
		return st, b
	}
	if strings.TrimSpace(in.Title) == "" {
		return invalid("PullRequest", "title", "missing_field", "")
	}
	if in.Base == "" {
		return invalid("PullRequest", "base", "missing_field", "")
	}
	if in.Head == "" {
		return invalid("PullRequest", "head", "missing_field", "")
	}
	s.mu.Lock()
	base := s.st.repo(c.repoName())
	full, owner := base.fullName(), base.owner
	headOwner, headRef, hasOwner := strings.Cut(in.Head, ":")
	if !hasOwner {
		headOwner, headRef = owner, in.Head
	}
	headRepo := ""
	if strings.EqualFold(headOwner, owner) {
		headRepo = full
	} else {
		for _, r := range s.st.repos {
			if strings.EqualFold(r.owner, headOwner) && strings.EqualFold(r.forkOf, full) {
				headRepo = r.fullName()
			}
		}
	}
	for _, p := range base.pulls {
		if p.state == "open" && p.headRef == headRef && strings.EqualFold(p.headRepo, headRepo) && p.baseRef == in.Base {
			s.mu.Unlock()
			return http.StatusUnprocessableEntity, map[string]any{
				"message": "Validation Failed",
				"errors": []any{map[string]any{"resource": "PullRequest", "code": "custom",
					"message": "A pull request already exists for " + headOwner + ":" + headRef + "."}},
				"documentation_url": createPullDocs,
			}
		}
	}
	assoc := "CONTRIBUTOR"
	switch role := base.role(c.who.login); {
	case strings.EqualFold(c.who.login, owner):
		assoc = "OWNER"
	case role != "none":
		assoc = "COLLABORATOR"
	}
	s.mu.Unlock()

	if headRepo == "" || s.resolveRef(headRepo, "refs/heads/"+headRef) == "" {
		return withDocs(invalid("PullRequest", "head", "invalid", ""))
	}
	if s.resolveRef(full, "refs/heads/"+in.Base) == "" {
		return withDocs(invalid("PullRequest", "base", "invalid", ""))
	}
	n, err := s.OpenPR(NewPR{Repo: full, Head: headRef, HeadRepo: headRepo, Base: in.Base, Title: in.Title,
		Body: in.Body, User: c.who.login, AuthorAssociation: assoc, Draft: in.Draft})
	if err != nil {
		return http.StatusInternalServerError, errBody(err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.StatusCreated, s.pullJSON(base, base.pulls[n], true)
}

// withDocs points a 422 at the create-a-pull-request docs, as GitHub does.
func withDocs(status int, body any) (int, any) {
	if m, ok := body.(map[string]any); ok {
		m["documentation_url"] = createPullDocs
	}
	return status, body
}

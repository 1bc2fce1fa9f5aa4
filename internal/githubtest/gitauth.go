package githubtest

import (
	"net/http"
	"strings"
)

// gitAccess decides whether a git request may read or write its
// repository, as GitHub does over HTTPS: public repositories clone
// anonymously; private ones need Basic credentials whose password is a
// token that can see the repository (any user name: git sends
// x-access-token). Unlike GitHub, pushes to public repositories are open,
// so tests can push without credentials. It returns 0 to serve the
// request, or a status and message.
func (s *Server) gitAccess(r *http.Request) (int, string) {
	rest := strings.TrimPrefix(r.URL.Path, "/git/")
	i := strings.Index(rest, ".git/")
	if i < 0 {
		return http.StatusNotFound, "Repository not found."
	}
	repo := rest[:i]
	s.mu.Lock()
	rp := s.st.repo(repo)
	private := rp != nil && rp.private
	s.mu.Unlock()
	if rp == nil {
		return http.StatusNotFound, "Repository not found."
	}
	if !private {
		return 0, ""
	}
	_, password, ok := r.BasicAuth()
	if !ok || password == "" {
		return http.StatusUnauthorized, "Authentication required for " + repo
	}
	req := r.Clone(r.Context())
	req.Header.Set("Authorization", "token "+password)
	who, status, _ := s.authenticate(req, false)
	if status != 0 || who.anonymous || !s.visible(who, repo) {
		return http.StatusNotFound, "Repository not found."
	}
	// An App's installation token fetches with Contents read and pushes
	// with Contents write.
	perm := "contents:read"
	if strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack" {
		perm = "contents:write"
	}
	s.mu.Lock()
	allowed, _ := s.allowed(who, perm)
	s.mu.Unlock()
	if !allowed {
		return http.StatusForbidden, "Permission to " + repo + " denied to " + who.login + "."
	}
	return 0, ""
}

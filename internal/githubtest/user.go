package githubtest

import "net/http"

// getUser is GET /user, the authenticated user, as GitHub answers it: a
// token's own account; 401 without credentials; 403 for an installation
// token (an App acts as its bot, which has no /user: GitHub Actions'
// GITHUB_TOKEN gets the same answer), whose login comes from GET /app.
func (s *Server) getUser(c *call) (int, any) {
	if c.who.anonymous {
		return http.StatusUnauthorized, errBody("Requires authentication")
	}
	if c.who.installID != 0 || c.who.login == OpenLogin {
		return http.StatusForbidden, errBody("Resource not accessible by integration")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return http.StatusOK, s.userJSON(c.who.login)
}

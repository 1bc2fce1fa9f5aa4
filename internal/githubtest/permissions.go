package githubtest

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// routePermissions are what GitHub asks of an App installation's token
// for each endpoint, from GitHub's table of the permissions each REST
// endpoint needs ("Permissions required for GitHub Apps"). Alternatives
// are separated by "|": comments on a pull request's conversation are
// issue comments, which either permission allows. Routes authenticated
// by the App's JWT need none.
var routePermissions = map[string]string{
	"GET /repos/{owner}/{repo}":                                          "metadata:read",
	"GET /repos/{owner}/{repo}/collaborators/{user}/permission":          "metadata:read",
	"GET /repos/{owner}/{repo}/rules/branches/{branch+}":                 "metadata:read",
	"GET /repos/{owner}/{repo}/pulls":                                    "pull_requests:read",
	"GET /repos/{owner}/{repo}/pulls/{number}":                           "pull_requests:read",
	"PATCH /repos/{owner}/{repo}/pulls/{number}":                         "pull_requests:write",
	"POST /repos/{owner}/{repo}/pulls":                                   "pull_requests:write",
	"GET /repos/{owner}/{repo}/pulls/{number}/reviews":                   "pull_requests:read",
	"GET /repos/{owner}/{repo}/pulls/{number}/files":                     "pull_requests:read",
	"PUT /repos/{owner}/{repo}/pulls/{number}/merge":                     "contents:write",
	"GET /repos/{owner}/{repo}/branches/{branch+}":                       "contents:read",
	"GET /repos/{owner}/{repo}/git/commits/{sha}":                        "contents:read",
	"GET /repos/{owner}/{repo}/git/trees/{sha}":                          "contents:read",
	"GET /repos/{owner}/{repo}/git/ref/{ref+}":                           "contents:read",
	"POST /repos/{owner}/{repo}/git/refs":                                "contents:write",
	"POST /repos/{owner}/{repo}/git/commits":                             "contents:write",
	"POST /repos/{owner}/{repo}/releases":                                "contents:write",
	"GET /repos/{owner}/{repo}/releases/tags/{tag+}":                     "contents:read",
	"GET /repos/{owner}/{repo}/contents/{path+}":                         "contents:read",
	"POST /repos/{owner}/{repo}/statuses/{sha}":                          "statuses:write",
	"GET /repos/{owner}/{repo}/commits/{ref+}/statuses":                  "statuses:read",
	"GET /repos/{owner}/{repo}/commits/{ref+}/status":                    "statuses:read",
	"GET /repos/{owner}/{repo}/commits/{ref+}/check-runs":                "checks:read",
	"GET /repos/{owner}/{repo}/check-runs/{id}":                          "checks:read",
	"POST /repos/{owner}/{repo}/check-runs":                              "checks:write",
	"PATCH /repos/{owner}/{repo}/check-runs/{id}":                        "checks:write",
	"GET /repos/{owner}/{repo}/issues/comments/{id}":                     "issues:read|pull_requests:read",
	"PATCH /repos/{owner}/{repo}/issues/comments/{id}":                   "issues:write|pull_requests:write",
	"GET /repos/{owner}/{repo}/issues/{number}/comments":                 "issues:read|pull_requests:read",
	"POST /repos/{owner}/{repo}/issues/{number}/comments":                "issues:write|pull_requests:write",
	"GET /repos/{owner}/{repo}/issues/comments/{id}/reactions":           "issues:read",
	"POST /repos/{owner}/{repo}/issues/comments/{id}/reactions":          "issues:write",
	"POST /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches": "actions:write",
	"GET /repos/{owner}/{repo}/actions/workflows/{workflow}/runs":        "actions:read",
	"GET /repos/{owner}/{repo}/actions/runs":                             "actions:read",
	"GET /repos/{owner}/{repo}/actions/runs/{id}":                        "actions:read",
	"GET /repos/{owner}/{repo}/actions/runs/{id}/jobs":                   "actions:read",
	"POST /repos/{owner}/{repo}/actions/runs/{id}/cancel":                "actions:write",
}

// eventPermissions are the permissions GitHub requires of an App before
// it may subscribe to an event (any one of them).
var eventPermissions = map[string][]string{
	"pull_request":  {"pull_requests"},
	"issue_comment": {"issues", "pull_requests"},
	"check_run":     {"checks"},
	"check_suite":   {"checks"},
	"workflow_run":  {"actions"},
	"workflow_job":  {"actions"},
}

// repositoryPermissions are the repository permissions an App may ask
// for here, as GitHub names them in a manifest.
var repositoryPermissions = map[string]bool{
	"actions": true, "checks": true, "contents": true, "issues": true, "metadata": true,
	"pull_requests": true, "statuses": true, "workflows": true,
}

// setRoutePermissions attaches routePermissions to the routes.
func (s *Server) setRoutePermissions() {
	for i := range s.routes {
		rt := &s.routes[i]
		rt.perm = routePermissions[rt.method+" "+rt.pattern]
	}
}

// level orders access levels: none < read < write.
func level(access string) int {
	switch access {
	case "read":
		return 1
	case "write", "admin":
		return 2
	}
	return 0
}

// SetAppPermissions gives the App exactly these permissions
// ("contents": "write", ...). From then on its installation tokens are
// refused, as GitHub refuses them, any endpoint the permissions do not
// allow; metadata read is implied, as on GitHub. An App made through the
// manifest flow has its manifest's permissions.
func (s *Server) SetAppPermissions(appID int64, perms map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.apps[appID]
	if a == nil {
		a = &app{id: appID, slug: "app" + itoa(appID)}
		s.st.apps[appID] = a
	}
	a.perms = withMetadata(perms)
}

func withMetadata(perms map[string]string) map[string]string {
	out := map[string]string{"metadata": "read"}
	for k, v := range perms {
		if level(v) > level(out[k]) {
			out[k] = v
		}
	}
	return out
}

// PermissionsUsed are the permissions the App's installation tokens were
// asked for and had, at the highest level asked: with an App given
// exactly what it needs, this equals its permissions.
func (s *Server) PermissionsUsed(appID int64) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	if a := s.st.apps[appID]; a != nil {
		for k, v := range a.used {
			out[k] = v
		}
	}
	return out
}

// allowed checks an installation token's App permissions against the
// route's, recording the permission that allowed it; the caller holds
// s.mu. Apps without explicit permissions are not checked.
func (s *Server) allowed(who *identity, perm string) (ok bool, needs string) {
	if who.installID == 0 || perm == "" {
		return true, ""
	}
	a := s.st.apps[who.appID]
	if a == nil || a.perms == nil {
		return true, ""
	}
	for _, alt := range strings.Split(perm, "|") {
		name, access, _ := strings.Cut(alt, ":")
		if level(a.perms[name]) >= level(access) {
			if a.used == nil {
				a.used = map[string]string{}
			}
			if level(access) > level(a.used[name]) {
				a.used[name] = access
			}
			return true, ""
		}
	}
	return false, perm
}

// forbiddenByPermissions is GitHub's answer to an installation token
// whose App lacks the endpoint's permission.
func forbiddenByPermissions(perm string) (int, any) {
	return http.StatusForbidden, map[string]any{
		"message":           "Resource not accessible by integration",
		"documentation_url": docsURL + "/overview/permissions-required-for-github-apps",
		"status":            "403",
		// Not GitHub's: names the permission, for tests' messages.
		"x_needs": perm,
	}
}

// checkManifestPermissions validates a manifest's default_permissions and
// default_events as GitHub does when it creates the App.
func checkManifestPermissions(perms map[string]string, events []string) error {
	names := make([]string, 0, len(perms))
	for k := range perms {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !repositoryPermissions[k] {
			return fmt.Errorf("default_permissions: %q is not a permission this emulator knows", k)
		}
		if v := perms[k]; v != "read" && v != "write" {
			return fmt.Errorf("default_permissions: %s is %q; use read or write", k, v)
		}
	}
	for _, e := range events {
		need, ok := eventPermissions[e]
		if !ok {
			return fmt.Errorf("default_events: %q is not an event this emulator knows", e)
		}
		found := false
		for _, p := range need {
			found = found || level(perms[p]) > 0
		}
		if !found {
			return fmt.Errorf("default_events: %s needs one of the permissions %s", e, strings.Join(need, ", "))
		}
	}
	return nil
}

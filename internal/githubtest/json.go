package githubtest

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// The JSON objects follow GitHub's REST documentation and the payloads in
// shared/fixtures; web links point at the server's root and API links at
// APIURL, so nothing refers to github.com.

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func nodeID(kind string, id int64) string {
	return kind + "_" + base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s%d", kind, id)))
}

func (s *Server) api(format string, args ...any) string {
	return s.url + "/api/v3/" + fmt.Sprintf(format, args...)
}

// userJSON is GitHub's simple-user. The caller holds s.mu.
func (s *Server) userJSON(login string) map[string]any {
	id := s.st.userID(login)
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	return map[string]any{
		"login":               login,
		"id":                  id,
		"node_id":             nodeID("U", id),
		"avatar_url":          s.url + "/avatars/u/" + fmt.Sprint(id),
		"gravatar_id":         "",
		"url":                 s.api("users/%s", login),
		"html_url":            s.url + "/" + login,
		"followers_url":       s.api("users/%s/followers", login),
		"following_url":       s.api("users/%s/following{/other_user}", login),
		"gists_url":           s.api("users/%s/gists{/gist_id}", login),
		"starred_url":         s.api("users/%s/starred{/owner}{/repo}", login),
		"subscriptions_url":   s.api("users/%s/subscriptions", login),
		"organizations_url":   s.api("users/%s/orgs", login),
		"repos_url":           s.api("users/%s/repos", login),
		"events_url":          s.api("users/%s/events{/privacy}", login),
		"received_events_url": s.api("users/%s/received_events", login),
		"type":                typ,
		"site_admin":          false,
	}
}

// repoJSON is GitHub's repository object; full adds what only
// GET /repos/{owner}/{repo} carries (parent, source, permissions). The
// caller holds s.mu.
func (s *Server) repoJSON(rp *repo, full bool, who *identity) map[string]any {
	fn := rp.fullName()
	visibility := "public"
	if rp.private {
		visibility = "private"
	}
	open := 0
	for _, p := range rp.pulls {
		if p.state == "open" {
			open++
		}
	}
	api := s.api("repos/%s", fn)
	m := map[string]any{
		"id":                          rp.id,
		"node_id":                     nodeID("R", rp.id),
		"name":                        rp.name,
		"full_name":                   fn,
		"private":                     rp.private,
		"owner":                       s.userJSON(rp.owner),
		"html_url":                    s.url + "/" + fn,
		"description":                 nil,
		"fork":                        rp.forkOf != "",
		"url":                         api,
		"pulls_url":                   api + "/pulls{/number}",
		"statuses_url":                api + "/statuses/{sha}",
		"contents_url":                api + "/contents/{+path}",
		"issue_comment_url":           api + "/issues/comments{/number}",
		"collaborators_url":           api + "/collaborators{/collaborator}",
		"commits_url":                 api + "/commits{/sha}",
		"created_at":                  ts(rp.created),
		"updated_at":                  ts(rp.pushed),
		"pushed_at":                   ts(rp.pushed),
		"git_url":                     s.GitURL(fn),
		"ssh_url":                     s.GitURL(fn),
		"clone_url":                   s.GitURL(fn),
		"svn_url":                     s.url + "/" + fn,
		"homepage":                    nil,
		"size":                        0,
		"stargazers_count":            0,
		"watchers_count":              0,
		"language":                    nil,
		"has_issues":                  true,
		"has_projects":                true,
		"has_downloads":               true,
		"has_wiki":                    true,
		"has_pages":                   false,
		"forks_count":                 s.forksOf(fn),
		"mirror_url":                  nil,
		"archived":                    false,
		"disabled":                    false,
		"open_issues_count":           open,
		"license":                     nil,
		"forks":                       s.forksOf(fn),
		"open_issues":                 open,
		"watchers":                    0,
		"default_branch":              rp.defaultBranch,
		"is_template":                 false,
		"topics":                      []string{},
		"visibility":                  visibility,
		"allow_forking":               true,
		"web_commit_signoff_required": false,
	}
	if full {
		if rp.forkOf != "" {
			if parent := s.st.repo(rp.forkOf); parent != nil {
				pj := s.repoJSON(parent, false, who)
				m["parent"], m["source"] = pj, pj
			}
		}
		if who != nil && !who.anonymous {
			role := rp.role(who.login)
			if who.installID != 0 || who.login == OpenLogin {
				role = "write"
			}
			m["permissions"] = permissionsJSON(role)
		}
		for key, method := range map[string]string{"allow_merge_commit": MethodMerge, "allow_squash_merge": MethodSquash, "allow_rebase_merge": MethodRebase} {
			m[key] = rp.allows(method)
		}
		m["network_count"] = 0
		m["subscribers_count"] = 0
	}
	return m
}

func (s *Server) forksOf(full string) int {
	n := 0
	for _, rp := range s.st.repos {
		if strings.EqualFold(rp.forkOf, full) {
			n++
		}
	}
	return n
}

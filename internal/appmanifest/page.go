package appmanifest

import (
	"html/template"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gh"
)

// permissionTitles are the names GitHub's App settings page shows, and
// what the bot does with each permission, for the page and the README.
var permissionTitles = map[string]struct{ title, why string }{
	"actions":       {"Actions", "see the workflow runs that build runs end (`serve --executor actions`, which needs write to dispatch and cancel them)"},
	"checks":        {"Checks", "results as check runs, with GitHub's Re-run button"},
	"contents":      {"Contents", "clone siblings, read `wrknv.toml`; write: `/workspace merge` merges, tags and reverts"},
	"issues":        {"Issues", "summary comments, replies and reactions on PR conversations"},
	"metadata":      {"Metadata", "repository settings, branch rules, who may command the bot"},
	"pull_requests": {"Pull requests", "read PRs and their changed files; `link`/`unlink` edit the PR body; release PRs"},
	"statuses":      {"Commit statuses", "other checks' states, for the landing gate"},
	"workflows":     {"Workflows", "`/workspace merge` of a PR that changes `.github/workflows`"},
}

// PermissionTitle is the permission as GitHub's settings page shows it:
// "Checks: read and write".
func PermissionTitle(p gh.Permission) string {
	title := p.Name
	if t, ok := permissionTitles[p.Name]; ok {
		title = t.title
	}
	if p.Access == "write" {
		return title + ": read and write"
	}
	return title + ": read-only"
}

// eventTitles are the events as GitHub's App settings page names them.
var eventTitles = map[string]string{
	"check_run": "Check run", "check_suite": "Check suite", "issue_comment": "Issue comment", "pull_request": "Pull request",
	"workflow_job": "Workflow job", "workflow_run": "Workflow run",
}

// SetupMarkdown is the README's permissions and events for an App made
// by hand: the manifest's, so the two never differ (a test compares the
// README with it).
func SetupMarkdown() string {
	var b strings.Builder
	b.WriteString("2. Repository permissions:\n")
	for _, p := range gh.AppPermissions() {
		b.WriteString("   - **" + PermissionTitle(p) + "**: " + permissionTitles[p.Name].why + "\n")
	}
	var events []string
	for _, e := range Events() {
		title := e
		if t, ok := eventTitles[e]; ok {
			title = t
		}
		events = append(events, "**"+title+"**")
	}
	b.WriteString("3. Subscribe to events: " + strings.Join(events, ", ") + ".\n")
	return b.String()
}

type pageData struct {
	Name, Org, Action, Manifest string
	Permissions                 []string
	Events, Hook, Dir           string
}

const style = `<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em}button{font-size:1.1em;padding:.5em 1.2em}code{background:#f3f3f3;padding:0 .2em}.err{color:#a00}</style>`

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Create the GitHub App {{.Name}}</title>` + style + `</head>
<body>
<h1>Create the GitHub App {{.Name}}</h1>
<p>GitHub asks you to confirm the App{{if .Org}} in the organisation {{.Org}}{{else}} in your account{{end}} (you may change its name there), then sends you back here. Its id, private key and webhook secret are then written to <code>{{.Dir}}</code>, readable by you only.</p>
<form action="{{.Action}}" method="post">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<button type="submit">Create the App on GitHub</button>
</form>
<h2>What it asks for</h2>
<p>Repository permissions, exactly those the bot's calls need:</p>
<ul>{{range .Permissions}}<li>{{.}}</li>{{end}}</ul>
<p>Events: {{.Events}}.</p>
<p>Webhooks go to <code>{{.Hook}}</code>. The App is private: only its owner can install it.</p>
</body></html>
`))

type resultData struct {
	Created *Created
	Error   string
}

var resultTmpl = template.Must(template.New("result").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>workspace-bot app create</title>` + style + `</head>
<body>
{{if .Created}}<h1>The App {{.Created.Slug}} is made</h1>
<p>Its id, private key and webhook secret are in <code>{{.Created.Files.Dir}}</code>. The terminal shows the <code>workspace-bot serve</code> command that uses them.</p>
<p>Next, <a href="{{.Created.InstallURL}}">install it</a> on the workspace repository and every sibling.</p>
{{else}}<h1>The App was not made</h1>
<p class="err">{{.Error}}</p>{{end}}
</body></html>
`))

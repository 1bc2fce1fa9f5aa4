package gh

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/webhooktest"
)

// FuzzDecodeEvent feeds every handled event's decoder payloads grown from
// GitHub's real ones. The decoder never panics; it either fails, naming
// the event, or returns that event, decoded the same way every time, with
// fields that agree with each other and with the payload.
func FuzzDecodeEvent(f *testing.F) {
	events := bot.Events()
	for i, e := range events {
		files, err := filepath.Glob(filepath.Join(webhooktest.Dir, e, "*.json"))
		if err != nil || len(files) == 0 {
			f.Fatalf("no %s payloads (%v)", e, err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(i), data)
		}
		f.Add(uint8(i), []byte(`{}`))
		f.Add(uint8(i), []byte(`null`))
	}
	f.Add(uint8(0), []byte(`{"action":"opened","pull_request":{"number":-1,"head":{"repo":null},"base":{"repo":{"full_name":"O/R"}}},"repository":{"full_name":"o/r"}}`))
	f.Add(uint8(1), []byte(`{"action":"created","issue":{"number":1,"pull_request":null},"comment":{"created_at":"not a time"}}`))
	f.Add(uint8(2), []byte(`{"action":"rerequested","check_run":{"head_sha":"a","pull_requests":[],"check_suite":{"pull_requests":[{"number":9}]}}}`))
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		event := events[int(which)%len(events)]
		ev, err := DecodeEvent(event, payload)
		if err != nil {
			if ev != nil {
				t.Fatalf("an error %v and an event %+v", err, ev)
			}
			if !strings.HasPrefix(err.Error(), event+" payload: ") {
				t.Fatalf("the error %q does not name the %s payload", err, event)
			}
			return
		}
		if ev == nil || ev.Name() != event {
			t.Fatalf("decoded %#v for a %s payload", ev, event)
		}
		again, _ := DecodeEvent(event, payload)
		if !reflect.DeepEqual(ev, again) {
			t.Fatalf("two decodes differ: %+v and %+v", ev, again)
		}
		var doc any
		if json.Unmarshal(payload, &doc) != nil {
			t.Fatalf("the decoder took a payload that is not JSON: %q", payload)
		}
		exact := !foldedKeys(doc)
		switch e := ev.(type) {
		case *bot.PullRequestEvent:
			if pr := e.PR; pr != nil {
				if pr.Fork != !strings.EqualFold(pr.HeadRepo, pr.Repo) {
					t.Fatalf("PR %s from %s: fork = %v", pr.Repo, pr.HeadRepo, pr.Fork)
				}
				if exact && pr.Repo == "" && str(doc, "repository", "full_name") != "" {
					t.Fatalf("PR without the payload's repository %q", str(doc, "repository", "full_name"))
				}
			}
			if exact {
				same(t, "action", e.Action, str(doc, "action"))
				if got, want := e.PR != nil, obj(doc, "pull_request") != nil; got != want {
					t.Fatalf("PR decoded %v, payload has one %v", got, want)
				}
				if got, want := e.BodyChanged, obj(doc, "changes", "body") != nil; got != want {
					t.Fatalf("BodyChanged %v, payload's changes.body %v", got, want)
				}
			}
		case *bot.CommentEvent:
			if exact {
				same(t, "action", e.Action, str(doc, "action"))
				same(t, "repository", e.Repo, str(doc, "repository", "full_name"))
				same(t, "comment body", e.Comment.Body, str(doc, "comment", "body"))
				same(t, "comment user", e.Comment.User, str(doc, "comment", "user", "login"))
				if got, want := e.OnPR, obj(doc, "issue", "pull_request") != nil; got != want {
					t.Fatalf("OnPR %v, payload's issue.pull_request %v", got, want)
				}
			}
		case *bot.RerunEvent:
			if exact {
				same(t, "action", e.Action, str(doc, "action"))
				same(t, "repository", e.Repo, str(doc, "repository", "full_name"))
				same(t, "head", e.HeadSHA, str(doc, event, "head_sha"))
			}
		case *bot.WorkflowEvent:
			if exact {
				same(t, "action", e.Action, str(doc, "action"))
				same(t, "repository", e.Repo, str(doc, "repository", "full_name"))
				same(t, "status", e.Status, str(doc, event, "status"))
			}
		default:
			t.Fatalf("a %s payload decoded as %T", event, ev)
		}
	})
}

func same(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s decoded %q, payload says %q", what, got, want)
	}
}

// at follows a path of object keys.
func at(doc any, path ...string) any {
	for _, k := range path {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[k]
	}
	return doc
}

func str(doc any, path ...string) string {
	s, _ := at(doc, path...).(string)
	return s
}

func obj(doc any, path ...string) map[string]any {
	m, _ := at(doc, path...).(map[string]any)
	return m
}

// foldedKeys says whether some key is not lower-case ASCII: encoding/json
// matches struct fields case-insensitively (Unicode folding included), a
// map does not, so only payloads spelled as GitHub spells them can be
// compared key by key.
func foldedKeys(doc any) bool {
	switch v := doc.(type) {
	case map[string]any:
		for k, x := range v {
			if strings.IndexFunc(k, func(r rune) bool { return r >= 0x80 || (r >= 'A' && r <= 'Z') }) >= 0 || foldedKeys(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if foldedKeys(x) {
				return true
			}
		}
	}
	return false
}

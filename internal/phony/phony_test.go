package phony

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/webhooktest"
)

var fixtures = webhooktest.Dir

func TestSignMatchesGitHubExample(t *testing.T) {
	// The example from GitHub's "Validating webhook deliveries" page.
	got := Sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestDeliveryIDIsAUUIDAndUnique(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := DeliveryID()
		if !re.MatchString(id) {
			t.Fatalf("DeliveryID %q is not a v4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("DeliveryID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestSendSignsAndSetsHeaders(t *testing.T) {
	secret := "s3cret"
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	payload := []byte(`{"action":"opened"}`)
	resp, err := Send(context.Background(), srv.URL+"/webhook", "pull_request", "d-1", payload, secret)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/webhook" {
		t.Fatalf("request %s %s", got.Method, got.URL.Path)
	}
	for h, want := range map[string]string{
		"X-GitHub-Event":      "pull_request",
		"X-GitHub-Delivery":   "d-1",
		"Content-Type":        "application/json",
		"X-Hub-Signature-256": Sign([]byte(secret), payload),
	} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("%s = %q, want %q", h, v, want)
		}
	}
	if string(body) != string(payload) {
		t.Fatalf("body %q", body)
	}
	if !hmac.Equal([]byte(got.Header.Get("X-Hub-Signature-256")), []byte(Sign([]byte(secret), body))) {
		t.Fatal("signature does not cover the body sent")
	}

	s := &Sender{URL: srv.URL, Secret: []byte(secret)}
	resp, err = s.Send(context.Background(), "ping", "", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got.Header.Get("X-GitHub-Delivery") == "" {
		t.Fatal("Send with no delivery id sent none")
	}

	srv.Close()
	if _, err := s.Send(context.Background(), "ping", "x", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "ping delivery x") {
		t.Fatalf("Send to a closed server: %v", err)
	}
}

func TestLoadSetPreservesTheRest(t *testing.T) {
	path := fixtures + "/pull_request/opened.payload.json"
	if EventOf(path) != "pull_request" {
		t.Fatalf("EventOf(%s) = %s", path, EventOf(path))
	}
	d, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path  string
		value any
	}{
		{"pull_request.number", 7},
		{"number", int64(7)},
		{"repository.full_name", "emu/foundation"},
		{"pull_request.head.sha", "0123456789abcdef0123456789abcdef01234567"},
		{"pull_request.head.repo.fork", true},
		{"pull_request.body", "Depends-On: emu/tools#3"},
		{"pull_request.labels", []any{}},
		{"new.nested.key", "made"},
	} {
		if err := Set(d, c.path, c.value); err != nil {
			t.Fatalf("Set(%s): %v", c.path, err)
		}
	}
	out, err := Marshal(d)
	if err != nil {
		t.Fatal(err)
	}

	// Read both as plain JSON: only the set paths differ.
	var orig, mutated map[string]any
	raw, _ := os.ReadFile(path)
	json.Unmarshal(raw, &orig)
	if err := json.Unmarshal(out, &mutated); err != nil {
		t.Fatal(err)
	}
	pr := mutated["pull_request"].(map[string]any)
	if pr["number"] != 7.0 || mutated["number"] != 7.0 {
		t.Errorf("numbers not set: %v %v", pr["number"], mutated["number"])
	}
	if pr["head"].(map[string]any)["repo"].(map[string]any)["fork"] != true {
		t.Error("fork not set")
	}
	if mutated["new"].(map[string]any)["nested"].(map[string]any)["key"] != "made" {
		t.Error("missing objects not created")
	}
	origPR := orig["pull_request"].(map[string]any)
	for _, k := range []string{"title", "html_url", "created_at", "merge_commit_sha", "author_association"} {
		if pr[k] != origPR[k] {
			t.Errorf("pull_request.%s changed: %v -> %v", k, origPR[k], pr[k])
		}
	}
	if orig["sender"].(map[string]any)["login"] != mutated["sender"].(map[string]any)["login"] {
		t.Error("sender changed")
	}
	// Big ids keep every digit.
	if !strings.Contains(string(out), `"id":279147437`) {
		t.Error("pull_request.id lost its exact digits")
	}
	if v, err := GetString(d, "repository.full_name"); err != nil || v != "emu/foundation" {
		t.Errorf("GetString = %q %v", v, err)
	}
}

func TestPathErrors(t *testing.T) {
	d, err := Decode([]byte(`{"a":{"b":[{"c":1}]},"s":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"get missing", func() error { _, err := Get(d, "a.z"); return err }()},
		{"get bad index", func() error { _, err := Get(d, "a.b.5"); return err }()},
		{"get through string", func() error { _, err := Get(d, "s.x"); return err }()},
		{"getstring of number", func() error { _, err := GetString(d, "a.b.0.c"); return err }()},
		{"set bad index", Set(d, "a.b.1.c", 2)},
		{"set through string", Set(d, "s.x", 1)},
		{"delete missing", Delete(d, "a.q")},
		{"delete array element", Delete(d, "a.b.0")},
	} {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if err := Set(d, "a.b.0.c", 5); err != nil {
		t.Fatal(err)
	}
	if v, _ := Get(d, "a.b.0.c"); v != json.Number("5") {
		t.Fatalf("a.b.0.c = %#v", v)
	}
	if err := Delete(d, "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := Get(d, "s"); err == nil {
		t.Fatal("deleted key still there")
	}
	for _, bad := range []string{`[1]`, `null`, `{`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%s) succeeded", bad)
		}
	}
	if _, err := Load(fixtures + "/nope.json"); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

package gh

import (
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/ghclient"
)

func TestConvertManifestUnknownCode(t *testing.T) {
	w := newWorld(t)
	api, err := ghclient.Anonymous(ghclient.Options{APIURL: w.srv.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ConvertManifest(t.Context(), api, "never-issued")
	if err == nil || !strings.Contains(err.Error(), "used already or is over an hour old") || !strings.Contains(err.Error(), "run app create again") {
		t.Errorf("unknown code: %v, want the reason and the fix", err)
	}
	if _, err := ghclient.Anonymous(ghclient.Options{APIURL: w.srv.APIURL(), Token: "t"}); err == nil {
		t.Error("an anonymous client with a token should be refused")
	}
}

package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/ghclient"
)

func TestGitHubFlags(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		token   string
		appID   int64
		apiURL  string
		wantErr string
	}{
		{name: "flag token wins", env: map[string]string{"GITHUB_TOKEN": "env-b"}, args: []string{"--github-token", "flag-a"}, token: "flag-a", apiURL: "https://api.github.com/"},
		{name: "bot env before GITHUB_TOKEN", env: map[string]string{"WORKSPACE_BOT_GITHUB_TOKEN": "bot", "GITHUB_TOKEN": "gh"}, token: "bot", apiURL: "https://api.github.com/"},
		{name: "GITHUB_TOKEN and GITHUB_API_URL", env: map[string]string{"GITHUB_TOKEN": "gh\n", "GITHUB_API_URL": "https://ghe.example/api/v3"}, token: "gh", apiURL: "https://ghe.example/api/v3/"},
		{name: "api url flag", args: []string{"--github-token", "t", "--github-api-url", "http://127.0.0.1:1"}, token: "t", apiURL: "http://127.0.0.1:1/"},
		{name: "app from file", args: []string{"--app-id", "12", "--app-private-key", keyFile}, appID: 12, apiURL: "https://api.github.com/"},
		{name: "app from env PEM", env: map[string]string{"WORKSPACE_BOT_APP_ID": "13", "WORKSPACE_BOT_APP_PRIVATE_KEY": string(pemKey), "GITHUB_TOKEN": "ignored"}, appID: 13, apiURL: "https://api.github.com/"},
		{name: "token file before env", env: map[string]string{"GITHUB_TOKEN": "env"}, args: []string{"--github-token-file", tokenFile}, token: "from-file", apiURL: "https://api.github.com/"},
		{name: "token file from env", env: map[string]string{"WORKSPACE_BOT_GITHUB_TOKEN_FILE": tokenFile}, token: "from-file", apiURL: "https://api.github.com/"},
		{name: "token and token file", args: []string{"--github-token", "a", "--github-token-file", tokenFile}, wantErr: "not both"},
		{name: "missing token file", args: []string{"--github-token-file", tokenFile + ".missing"}, wantErr: `--github-token-file "` + tokenFile + `.missing": cannot read it: no such file or directory`},
		{name: "empty token file", args: []string{"--github-token-file", emptyFile}, wantErr: "is empty"},
		{name: "no credentials", wantErr: "no credentials"},
		{name: "bad app id", args: []string{"--app-id", "twelve", "--app-private-key", keyFile}, wantErr: "numeric id"},
		{name: "missing key file", args: []string{"--app-id", "12", "--app-private-key", "/nonexistent/app.pem"}, wantErr: "--app-private-key: neither a PEM key nor a readable file"},
		{name: "credentials in url", args: []string{"--github-token", "t", "--github-api-url", "https://u:secret@ghe.example/api/v3"}, wantErr: "credentials in the URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"GITHUB_TOKEN", "WORKSPACE_BOT_GITHUB_TOKEN", "GITHUB_API_URL", "WORKSPACE_BOT_GITHUB_API_URL", "WORKSPACE_BOT_APP_ID", "WORKSPACE_BOT_APP_PRIVATE_KEY", "WORKSPACE_BOT_GITHUB_TOKEN_FILE"} {
				t.Setenv(k, tc.env[k])
			}
			g := githubFlags()
			var out bytes.Buffer
			fs := cli.NewFlagSet("x", "x", &out)
			g.Register(fs)
			// A value is refused as it is parsed, or when the options
			// are put together.
			var o ghclient.Options
			var err error
			if _, ok := cli.ParseEnv(fs, tc.args, os.Getenv); !ok {
				err = errors.New(out.String())
			} else {
				o, err = g.Options(t.TempDir())
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error leaks a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Token != tc.token || o.AppID != tc.appID || o.APIURL != tc.apiURL || !strings.HasSuffix(o.CacheDir, "http-cache") {
				t.Errorf("options = token %q app %d url %q cache %q", o.Token, o.AppID, o.APIURL, o.CacheDir)
			}
			if tc.appID != 0 && len(o.AppPrivateKey) == 0 {
				t.Error("App key not read")
			}
		})
	}
}

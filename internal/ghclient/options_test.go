package ghclient

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

func TestNormalizeAPIURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"", DefaultAPIURL, ""},
		{"https://api.github.com", "https://api.github.com/", ""},
		{"https://api.github.com/", "https://api.github.com/", ""},
		{"https://ghe.example/api/v3", "https://ghe.example/api/v3/", ""},
		{" https://ghe.example/api/v3/// ", "https://ghe.example/api/v3/", ""},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/", ""},
		{"ftp://ghe.example/", "", "use an http(s) URL"},
		{"ghe.example/api/v3", "", "use an http(s) URL"},
		{"https://x:s3cret-token@ghe.example/api/v3/", "", "pass the token with --github-token"},
		{"https://ghe.example/api/v3/?a=1", "", "remove the query"},
	} {
		got, err := NormalizeAPIURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("NormalizeAPIURL(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the credential: %v", err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeAPIURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func testKey(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func TestOptionsValidate(t *testing.T) {
	key := testKey(t)
	for _, tc := range []struct {
		name string
		o    Options
		err  string
	}{
		{"token", Options{Token: "ghp_abc"}, ""},
		{"app", Options{AppID: 7, AppPrivateKey: key}, ""},
		{"none", Options{}, "no credentials"},
		{"both", Options{Token: "ghp_abc", AppID: 7, AppPrivateKey: key}, "not both"},
		{"app without key", Options{AppID: 7}, "--app-private-key is missing"},
		{"key without app", Options{AppPrivateKey: key}, "--app-id"},
		{"bad pem", Options{AppID: 7, AppPrivateKey: []byte("hello")}, "not a PEM file"},
		{"token with newline", Options{Token: "ghp_abc\n"}, "whitespace"},
		{"bad url", Options{Token: "ghp_abc", APIURL: "nope"}, "--github-api-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			err := o.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if o.APIURL != DefaultAPIURL || o.MaxWait != DefaultMaxWait || o.MaxAttempts != DefaultMaxAttempts {
					t.Errorf("defaults not filled: %+v", o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error = %v, want %q", err, tc.err)
			}
			if strings.Contains(err.Error(), "ghp_abc") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

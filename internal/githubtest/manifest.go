package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The App manifest flow as GitHub runs it: a page POSTs a form with a
// manifest to /settings/apps/new (or /organizations/ORG/settings/apps/new)
// with ?state=; GitHub creates the App once the user confirms (here at
// once) and redirects to the manifest's redirect_url with a code and the
// state; the code is exchanged once, within an hour, for the App's id,
// private key and webhook secret: POST /app-manifests/{code}/conversions.

// manifest is the part of an App manifest the emulator reads.
type manifest struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	HookAttributes struct {
		URL    string `json:"url"`
		Active *bool  `json:"active"`
	} `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	Public             bool              `json:"public"`
	DefaultEvents      []string          `json:"default_events"`
	DefaultPermissions map[string]string `json:"default_permissions"`
}

// conversion is a code GitHub handed back, waiting to be exchanged.
type conversion struct {
	appID   int64
	pem     string
	expires time.Time
}

// ManifestOwner owns the Apps made at /settings/apps/new: the user who
// is signed in.
const ManifestOwner = "octocat"

// App is an App as the emulator holds it.
type App struct {
	ID            int64
	Slug, Name    string
	Owner         string
	HookURL       string // where its webhooks go
	WebhookSecret string
	Public        bool
	Permissions   map[string]string
	Events        []string
}

// Apps are the Apps made through the manifest flow, oldest first.
func (s *Server) Apps() []App {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []App
	for _, a := range s.st.apps {
		if a.name == "" {
			continue
		}
		perms := map[string]string{}
		for k, v := range a.perms {
			perms[k] = v
		}
		out = append(out, App{ID: a.id, Slug: a.slug, Name: a.name, Owner: a.owner, HookURL: a.hookURL,
			WebhookSecret: a.webhookSecret, Public: a.public, Permissions: perms, Events: append([]string(nil), a.events...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

var orgFormRe = regexp.MustCompile(`^/organizations/([A-Za-z0-9][A-Za-z0-9-]*)/settings/apps/new$`)

func isManifestForm(path string) bool {
	return path == "/settings/apps/new" || orgFormRe.MatchString(path)
}

// serveManifestForm creates an App from the posted manifest and sends the
// browser back to the manifest's redirect_url with a code.
func (s *Server) serveManifestForm(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST the manifest form here", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read: "+err.Error(), http.StatusBadRequest)
		return
	}
	owner := ManifestOwner
	if m := orgFormRe.FindStringSubmatch(r.URL.Path); m != nil {
		owner = m[1]
	}
	var m manifest
	raw := r.PostForm.Get("manifest")
	if raw == "" {
		http.Error(w, "Invalid GitHub App configuration: the form has no manifest field", http.StatusUnprocessableEntity)
		return
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		http.Error(w, "Invalid GitHub App configuration: the manifest is not JSON: "+err.Error(), http.StatusUnprocessableEntity)
		return
	}
	if err := checkManifest(&m); err != nil {
		http.Error(w, "Invalid GitHub App configuration: "+err.Error(), http.StatusUnprocessableEntity)
		return
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		http.Error(w, "key generation failed", http.StatusInternalServerError)
		return
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	redirect, _ := url.Parse(m.RedirectURL)

	s.mu.Lock()
	slug := slugify(m.Name)
	for _, a := range s.st.apps {
		if a.slug == slug {
			s.mu.Unlock()
			http.Error(w, "Name is already in use", http.StatusUnprocessableEntity)
			return
		}
	}
	a := &app{id: s.st.id(), slug: slug, key: &key.PublicKey, name: m.Name, owner: owner,
		hookURL: m.HookAttributes.URL, webhookSecret: randomHex(20), public: m.Public,
		perms: withMetadata(m.DefaultPermissions), events: append([]string{}, m.DefaultEvents...)}
	s.st.apps[a.id] = a
	code := randomHex(10)
	if s.st.conversions == nil {
		s.st.conversions = map[string]*conversion{}
	}
	s.st.conversions[code] = &conversion{appID: a.id, pem: keyPEM, expires: time.Now().Add(time.Hour)}
	s.mu.Unlock()

	q := redirect.Query()
	q.Set("code", code)
	if st := r.URL.Query().Get("state"); st != "" {
		q.Set("state", st)
	}
	redirect.RawQuery = q.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// checkManifest refuses what GitHub refuses in a manifest.
func checkManifest(m *manifest) error {
	if strings.TrimSpace(m.Name) == "" {
		return errors.New("name can't be blank")
	}
	if len(m.Name) > 34 {
		return fmt.Errorf("name %q is too long (maximum is 34 characters)", m.Name)
	}
	if !httpURL(m.URL) {
		return errors.New("url must be an http(s) URL")
	}
	if (m.HookAttributes.Active == nil || *m.HookAttributes.Active) && !httpURL(m.HookAttributes.URL) {
		return errors.New("hook_attributes.url must be an http(s) URL while the webhook is active")
	}
	if !httpURL(m.RedirectURL) {
		return errors.New("redirect_url must be an http(s) URL")
	}
	return checkManifestPermissions(m.DefaultPermissions, m.DefaultEvents)
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func slugify(name string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
}

func randomHex(n int) string {
	buf := make([]byte, n)
	rand.Read(buf) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(buf)
}

// convertManifest exchanges a code for the App's credentials, once.
func (s *Server) convertManifest(c *call) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := c.param("code")
	conv := s.st.conversions[code]
	if conv == nil || time.Now().After(conv.expires) {
		delete(s.st.conversions, code)
		return notFound()
	}
	delete(s.st.conversions, code)
	a := s.st.apps[conv.appID]
	body := s.appJSON(a.id)
	body["client_id"] = "Iv1." + randomHex(8)
	body["client_secret"] = randomHex(20)
	body["webhook_secret"] = a.webhookSecret
	body["pem"] = conv.pem
	return http.StatusCreated, body
}

package appmanifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/provide-io/workspace-bot/internal/gh"
)

// DefaultDir is where the App's credentials go unless told.
const DefaultDir = "workspace-bot-app"

// Files are where an App's credentials are written, in one directory.
type Files struct {
	Dir           string
	AppID         string // the App's id, in decimal
	PrivateKey    string // the App's private key, PEM
	WebhookSecret string // the secret its webhooks are signed with
}

// FilesIn names the credential files in dir.
func FilesIn(dir string) Files {
	return Files{Dir: dir, AppID: filepath.Join(dir, "app-id"), PrivateKey: filepath.Join(dir, "private-key.pem"),
		WebhookSecret: filepath.Join(dir, "webhook-secret")}
}

func (f Files) paths() []string { return []string{f.AppID, f.PrivateKey, f.WebhookSecret} }

// Check refuses a directory that already holds any of the files, before
// an App is made whose credentials could not be written: credentials are
// never overwritten.
func (f Files) Check() error {
	for _, p := range f.paths() {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s exists, and app create never overwrites credentials: move it away, or pass --dir with a new directory", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", p, err)
		}
	}
	return nil
}

// Write writes the App's id, private key and webhook secret, each to a
// new file that only its owner can read (0600) in a directory only its
// owner can enter when it makes it (0700). A file that appeared since
// Check is not overwritten: the error names it.
func (f Files) Write(app *gh.NewApp) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return fmt.Errorf("making %s for the App's credentials: %w", f.Dir, err)
	}
	contents := map[string][]byte{
		f.AppID:         []byte(strconv.FormatInt(app.ID, 10) + "\n"),
		f.PrivateKey:    app.PEM,
		f.WebhookSecret: []byte(app.WebhookSecret + "\n"),
	}
	for _, p := range f.paths() {
		if err := writeNew(p, contents[p]); err != nil {
			return err
		}
	}
	return nil
}

func writeNew(path string, data []byte) error {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s appeared meanwhile, and app create never overwrites credentials: %w", path, err)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := file.Write(data); err != nil {
		file.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := file.Sync(); err != nil {
		file.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

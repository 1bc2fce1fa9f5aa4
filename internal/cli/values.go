package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/pflag"

	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/workspace"
)

// Flag values that check what they are given, so that a bad value is
// refused when it is parsed, from the command line or the environment
// (ApplyEnv), with the same words. Their errors say what the flag takes,
// never the value: the caller names it, unless it is a secret.

// checked is a string flag whose value passes check first.
type checked struct {
	p     *string
	typ   string
	check func(string) error
}

func (c *checked) String() string {
	if c.p == nil {
		return ""
	}
	return *c.p
}

func (c *checked) Set(v string) error {
	if err := c.check(v); err != nil {
		return err
	}
	*c.p = v
	return nil
}

func (c *checked) Type() string { return c.typ }

// saysWhatItTakes marks the values whose errors are already in words.
func (*checked) saysWhatItTakes()       {}
func (*intRange) saysWhatItTakes()      {}
func (*durationRange) saysWhatItTakes() {}

// Checked defines a string flag whose every value passes check; typ names
// the value in the usage ("addr", "url").
func Checked(fs *pflag.FlagSet, p *string, name, def, typ, usage string, check func(string) error) {
	*p = def
	fs.Var(&checked{p: p, typ: typ, check: check}, name, usage)
}

// intRange is an int flag between min and max.
type intRange struct {
	p        *int
	min, max int
}

func (r *intRange) String() string { return strconv.Itoa(*r.p) }
func (r *intRange) Type() string   { return "int" }

func (r *intRange) Set(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < r.min || n > r.max {
		return fmt.Errorf("want a whole number from %d to %d, such as %d", r.min, r.max, min(max(4, r.min), r.max))
	}
	*r.p = n
	return nil
}

// IntRange defines an int flag taking min to max.
func IntRange(fs *pflag.FlagSet, p *int, name string, def, min, max int, usage string) {
	*p = def
	fs.Var(&intRange{p: p, min: min, max: max}, name, usage)
}

// durationRange is a duration flag between min and max (max 0: no bound).
type durationRange struct {
	p        *time.Duration
	min, max time.Duration
}

func (r *durationRange) String() string { return r.p.String() }
func (r *durationRange) Type() string   { return "duration" }

func (r *durationRange) Set(v string) error {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	switch {
	case err != nil:
		return errors.New("want a duration with its unit, such as 500ms, 2s or 1m")
	case d < r.min || (r.max > 0 && d > r.max):
		if r.max > 0 {
			return fmt.Errorf("want a duration from %s to %s", r.min, r.max)
		}
		return fmt.Errorf("want a duration of at least %s", r.min)
	}
	*r.p = d
	return nil
}

// DurationRange defines a duration flag taking min to max (0: no upper
// bound).
func DurationRange(fs *pflag.FlagSet, p *time.Duration, name string, def, min, max time.Duration, usage string) {
	*p = def
	fs.Var(&durationRange{p: p, min: min, max: max}, name, usage)
}

// OneOf checks that a value is one of choices.
func OneOf(choices ...string) func(string) error {
	return func(v string) error {
		for _, c := range choices {
			if v == c {
				return nil
			}
		}
		return fmt.Errorf("want %s", orList(choices))
	}
}

func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// LogLevel checks a log level.
func LogLevel(v string) error {
	return OneOf("debug", "info", "warn", "error")(v)
}

// HostPort checks an address to listen on.
func HostPort(v string) error {
	if _, _, err := net.SplitHostPort(v); err != nil {
		return errors.New("want host:port, such as 127.0.0.1:8080 or :8080")
	}
	return nil
}

// HTTPURL checks an http or https URL.
func HTTPURL(v string) error {
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http or https URL, such as https://bot.example.com")
	}
	return nil
}

// APIURL checks a GitHub REST API root.
func APIURL(v string) error { return ghclient.APIURLProblem(v) }

// repoRe is owner/repo as GitHub spells them.
var repoRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$`)

// OwnerRepo checks owner/repo.
func OwnerRepo(v string) error {
	if !repoRe.MatchString(v) {
		return errors.New("want owner/repo, such as provide-io/provide-workspace")
	}
	return nil
}

// workflowRe is a workflow file name: the Actions API names a workflow
// by its file in .github/workflows.
var workflowRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml$`)

// WorkflowFile checks a workflow's file name.
func WorkflowFile(v string) error {
	if !workflowRe.MatchString(v) {
		return errors.New("want a workflow file name such as workspace-run.yml (its name in .github/workflows, no directory)")
	}
	return nil
}

// RunnerLabels checks runner labels: one label, or a JSON list of them.
func RunnerLabels(v string) error {
	if v == "" {
		return nil
	}
	if strings.HasPrefix(strings.TrimSpace(v), "[") {
		var labels []string
		if err := json.Unmarshal([]byte(v), &labels); err != nil || len(labels) == 0 {
			return errors.New(`want one runner label, or a JSON list of labels such as ["self-hosted","linux"]`)
		}
		return nil
	}
	if strings.ContainsAny(v, " \t\n\"',") {
		return errors.New(`want one runner label, or a JSON list of labels such as ["self-hosted","linux"]`)
	}
	return nil
}

// Size checks a size such as 64MB of at least least bytes.
func Size(least int64) func(string) error {
	return func(v string) error {
		n, err := workspace.ParseSize(v)
		if err != nil || n < least {
			if least > 0 {
				return fmt.Errorf("want a size of at least %dMB, such as 64MB", least>>20)
			}
			return errors.New("want a size, such as 64MB or 1GB")
		}
		return nil
	}
}

// Dir checks a directory the command may create: it is named, and is not
// a file.
func Dir(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("want a directory, such as ~/.cache/workspace-bot")
	}
	if fi, err := os.Stat(v); err == nil && !fi.IsDir() {
		return errors.New("is a file, not a directory: name a directory (it is created if missing)")
	}
	return nil
}

// DatabaseURL checks --database: empty (the SQLite file in the data dir)
// or a PostgreSQL URL. It holds a password, so no message repeats it.
func DatabaseURL(v string) error {
	if v == "" {
		return nil
	}
	if !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
		return errors.New("want a PostgreSQL URL, postgres://user:password@host:5432/dbname; leave it empty to keep the SQLite file in --data-dir")
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return errors.New("the URL does not parse or names no host: want postgres://user:password@host:5432/dbname")
	}
	return nil
}

// ReadableFile checks a file holding a credential: it can be opened. Its
// contents are not read here, and never shown.
func ReadableFile(v string) error {
	f, err := os.Open(v)
	if err != nil {
		return fmt.Errorf("cannot read it: %w", errors.Unwrap(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return errors.New("is a directory: name the file holding the secret")
	}
	return nil
}

// ConfigPath checks a workspace config: a file or directory on disk, or
// owner/repo:path on GitHub.
func ConfigPath(v string) error {
	if _, err := os.Stat(v); err == nil {
		return nil
	}
	if repo, _, ok := strings.Cut(v, ":"); ok && repoRe.MatchString(repo) {
		return nil
	}
	return errors.New("file not found: name wrknv.toml or its directory, or owner/repo:path to read it from GitHub")
}

// AppID checks a GitHub App id.
func AppID(v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err != nil || n <= 0 {
		return errors.New("want the App's numeric id, from its settings page")
	}
	return nil
}

// AppKey checks a GitHub App private key: a PEM, or a file holding one.
// Its errors never show it.
func AppKey(v string) error {
	if strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
		return nil
	}
	if ReadableFile(v) != nil {
		return errors.New("neither a PEM key nor a readable file: give the path of the .pem file GitHub made for the App")
	}
	return nil
}

// Token checks a GitHub token's shape: one word, as GitHub shows it.
// Its errors never show it.
func Token(v string) error {
	v = strings.TrimSpace(v)
	lower := strings.ToLower(v)
	if strings.HasPrefix(lower, "token ") || strings.HasPrefix(lower, "bearer ") {
		return errors.New("starts with a scheme word (token or Bearer): give the token alone")
	}
	if strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) >= 0 {
		return errors.New("has a space, a line break or a character a token never has: give the token alone, as GitHub showed it")
	}
	return nil
}

// Secret checks a webhook secret: one line, as typed in GitHub's
// webhook form. Its errors never show it.
func Secret(v string) error {
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return errors.New("has a line break or a control character: give the secret as typed in the webhook's settings")
	}
	return nil
}

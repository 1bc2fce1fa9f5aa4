// Package bot turns GitHub events into changeset runs: it resolves the
// changeset a PR belongs to, builds it with ci, and reports one combined
// result on every member PR. It also reads comment commands and decides
// whose code may run.
//
// The core is synchronous: Resolve makes a Plan, Build builds it into an
// Outcome, Report reports the outcome on every member, and Handle turns one
// event into those calls. Without more, Handle builds each plan at once, as
// the Action does. The service wraps the same core in a Queue: plans are
// stored, coalesced and superseded there, and its workers build them.
package bot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/clock"
	"github.com/provide-io/workspace-bot/internal/gherror"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/land"
	"github.com/provide-io/workspace-bot/workspace"
)

// GitHub is what the bot calls on GitHub.
type GitHub interface {
	changeset.GitHub
	EditPullRequestBody(ctx context.Context, repo string, number int, body string) error
	SetStatus(ctx context.Context, repo, sha string, st Status) error
	Comments(ctx context.Context, repo string, number int) ([]Comment, error)
	CreateComment(ctx context.Context, repo string, number int, body string) (int64, error)
	EditComment(ctx context.Context, repo string, id int64, body string) error
	React(ctx context.Context, repo string, commentID int64, content string) error
	Permission(ctx context.Context, repo, user string) (string, error)
}

// Checks is what the bot calls to report with check runs, when it runs as
// a GitHub App (a token cannot create check runs).
type Checks interface {
	CreateCheckRun(ctx context.Context, repo, sha string, cr CheckRun) (int64, error)
	UpdateCheckRun(ctx context.Context, repo string, id int64, cr CheckRun) error
	// CheckRuns lists the check runs named name on sha.
	CheckRuns(ctx context.Context, repo, sha, name string) ([]FoundCheckRun, error)
}

// ErrRejected is GitHub refusing a request as invalid (422): asking again
// cannot help.
var ErrRejected = gherror.Rejected

// Records are what the bot remembers between events: when it first saw
// each head and who approved running it, each PR's summary comment, the
// reports it owes GitHub (Outbox), and small marks (refusals already
// given). *store.Store is one.
type Records interface {
	Outbox
	SeeHeads(ctx context.Context, at time.Time, heads ...store.HeadKey) (map[store.HeadKey]store.Head, error)
	ApproveHeads(ctx context.Context, by string, at time.Time, heads ...store.HeadKey) error
	CommentID(ctx context.Context, repo string, number int) (int64, bool, error)
	SetCommentID(ctx context.Context, repo string, number int, id int64) error
	Meta(ctx context.Context, key string) (string, bool, error)
	SetMeta(ctx context.Context, key, value string) error
	// Landings not ended, which a restart carries on.
	SetLanding(ctx context.Context, l store.Landing) error
	EndLanding(ctx context.Context, key string) error
	GetLanding(ctx context.Context, key string) (*store.Landing, error)
	Landings(ctx context.Context) ([]store.Landing, error)
}

// Builder builds and tests a workspace; *ci.Runner is one.
type Builder interface {
	Run(ctx context.Context, req ci.Request) (*ci.Result, error)
}

// ConfigFile is the workspace config one run uses, and the text it was
// read from: a queued run stores the text, so it builds with the config
// it was resolved with.
type ConfigFile struct {
	*workspace.Config
	Name string // the file: a path, or owner/repo:path on GitHub
	Text []byte
	// Remote says the file came from GitHub: there is no workspace
	// checkout on disk, so the workspace repository is built at its
	// branch tip.
	Remote bool
}

// ConfigSource returns the workspace config to use now. A source that
// reads wrknv.toml from GitHub reads it again each call, so a change
// lands on the next run.
type ConfigSource func(ctx context.Context) (*ConfigFile, error)

// Resolver resolves the changeset that start belongs to; opts carry the
// bot's answer to whose links count (changeset.Options.Trusted).
type Resolver func(ctx context.Context, gh changeset.GitHub, cfg *workspace.Config, start changeset.Ref, opts changeset.Options) (*changeset.Changeset, error)

// Options configure a Bot.
type Options struct {
	GitHub GitHub
	Checks Checks // set when running as a GitHub App: report with check runs
	// Flaky, when set, records each run's tests so that a failure of a
	// test known to be flaky is marked as such.
	Flaky Flakes
	// Records are required to handle events; Resolve alone needs none.
	Records Records
	Builder Builder
	Config  ConfigSource
	// Resolve defaults to changeset.Resolve with its default bounds.
	Resolve Resolver
	Log     logrus.FieldLogger
	// PublicURL is where the service's run pages are reachable, for
	// status target URLs: <PublicURL>/runs/<id>.
	PublicURL string
	// RunURL, when set, links a run instead of <PublicURL>/runs/<id>: the
	// Action links the workflow run, where its logs are.
	RunURL func(id int64) string
	// Self looks up the login the bot acts as (gh.Self), once: its own
	// comments are never read as commands, and its own PRs (release
	// trains) are trusted. A token-mode bot is a plain user with write
	// permission, so the "[bot]" suffix alone does not tell its comments
	// apart. "" means GitHub does not say; nil looks nothing up.
	Self func(ctx context.Context) (string, error)
	// AllowUnsandboxed builds untrusted forks' code even where its steps
	// cannot be sandboxed; without it such a build fails before anything
	// is checked out.
	AllowUnsandboxed bool
	// AllowUnlimited builds untrusted forks' code even where its steps
	// cannot be put in a cgroup with memory and process limits.
	AllowUnlimited bool
	// QuietRefusals logs a report GitHub refused for good at debug, not
	// as an error: the caller says it once per repository (Refused).
	QuietRefusals bool
	// Clock stamps heads and reports and says when queued work is due;
	// nil is the machine's. The store the bot uses must read the same.
	Clock clock.Clock
	// Land, when set, lets /workspace merge land changesets with these
	// credentials; LandOptions tune it, and OnLanding is told how each
	// landing ended (landed, differs, halted), for metrics.
	Land        land.GitHub
	LandOptions land.Options
	OnLanding   func(outcome string)
	// Revert, when set, lets /workspace revert open the PRs that undo a
	// halted landing.
	Revert land.RevertGitHub
	// Released reads what a release PR's body releases (release.Released);
	// nil tags nothing when a changeset lands. ReleaseNotes reads its
	// notes (release.Notes), for a GitHub release.
	Released     func(body string) (sibling, version string, ok bool)
	ReleaseNotes func(body string) string
}

// Bot is the synchronous core. Its methods are safe for concurrent use.
type Bot struct {
	opt   Options
	clock clock.Clock
	gh    GitHub
	rec   Records
	log   logrus.FieldLogger
	// runs is what becomes of the plans events make: built at once, or
	// queued by a Queue.
	runs runner

	// triggerMu makes resolve-then-decide one step: resolution reads
	// GitHub as it is now, so the later of two concurrent events always
	// decides on the newer heads.
	triggerMu sync.Mutex
	refuseMu  sync.Mutex
	// reportLocks serialise the sends of each report target (by hash):
	// two reports on one head never land out of order, and two summary
	// sends on one PR never both create a comment.
	reportLocks [64]sync.Mutex
	// sweepWake tells the outbox's sweep a failed report is due soon.
	sweepWake chan struct{}
	// noChecks is set once GitHub refused a check run: statuses instead.
	noChecks atomic.Bool
	// landLocks hold each repository while a changeset lands into it.
	landLocks keyedLocks
	// workflowEvent, when set, is told of each workflow_run and
	// workflow_job event: a remote build may have ended.
	workflowEvent func(ctx context.Context, e *WorkflowEvent)

	selfMu   sync.Mutex
	self     string
	selfDone bool
}

// New checks opts and returns the core.
func New(opts Options) (*Bot, error) {
	var missing []string
	if opts.GitHub == nil {
		missing = append(missing, "GitHub")
	}
	if opts.Config == nil {
		missing = append(missing, "Config")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("bot: options missing %s", strings.Join(missing, ", "))
	}
	if opts.Resolve == nil {
		opts.Resolve = changeset.Resolve
	}
	if opts.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.WarnLevel)
		opts.Log = l
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	b := &Bot{opt: opts, clock: clock.Or(opts.Clock), gh: opts.GitHub, rec: opts.Records, log: opts.Log, sweepWake: make(chan struct{}, 1)}
	b.runs = buildNow{b}
	return b, nil
}

// Causes a build's context is cancelled with.
var (
	errShutdown   = errors.New("the service is shutting down; the run is queued again")
	errSuperseded = errors.New("superseded by a newer run of the same changeset")
	// errStoppedElsewhere stops a run another replica cancelled or
	// superseded; that replica reported it.
	errStoppedElsewhere = errors.New("cancelled or superseded through another replica")
)

// Cancel is a build cancelled on request: cancel its context with it
// (context.WithCancelCause), and Build reports the run cancelled, saying
// by whom, why, and what to do next.
type Cancel struct{ By, Why, Next string }

func (c *Cancel) Error() string {
	if c.By == "" {
		return "cancelled: " + c.Why
	}
	return "cancelled by " + c.By + ": " + c.Why
}

// describe is what the members of a cancelled run show.
func (c *Cancel) describe() string {
	if c.Next == "" {
		return c.Error()
	}
	return c.Error() + "; " + c.Next
}

// queueURL is the service's queue page filtered by q; "" where there is
// no such page (the Action, which links its workflow run instead).
func (b *Bot) queueURL(q url.Values) string {
	if b.opt.RunURL != nil || b.opt.PublicURL == "" {
		return ""
	}
	return b.opt.PublicURL + "/runs?" + q.Encode()
}

func (b *Bot) runURL(id int64) string {
	if b.opt.RunURL != nil {
		return b.opt.RunURL(id)
	}
	if b.opt.PublicURL == "" || id == 0 {
		return ""
	}
	return fmt.Sprintf("%s/runs/%d", b.opt.PublicURL, id)
}

package githubtest

import (
	"strings"
	"time"
)

// PullRequest is a snapshot of one pull request as the emulator holds it.
type PullRequest struct {
	Number            int
	State             string // "open" or "closed"
	Merged            bool
	Draft             bool
	Title             string
	Body              string
	HeadRef           string
	HeadSHA           string
	HeadRepo          string // owner/name; the fork's for a fork PR
	BaseRef           string
	User              string
	AuthorAssociation string
	MergeCommitSHA    string
}

// Status is one commit status as it was posted.
type Status struct {
	State       string
	Context     string
	Description string
	TargetURL   string
	Creator     string
}

// CheckRun is a snapshot of one check run.
type CheckRun struct {
	ID         int64
	HeadSHA    string
	Name       string
	Status     string
	Conclusion string
	Title      string
	Summary    string
	Text       string
	DetailsURL string
	ExternalID string
	// Annotations, in the order they were added.
	Annotations []Annotation
}

// Annotation is one check run annotation.
type Annotation struct {
	Path       string `json:"path"`
	StartLine  int    `json:"start_line"`
	EndLine    int    `json:"end_line"`
	Level      string `json:"annotation_level"`
	Title      string `json:"title,omitempty"`
	Message    string `json:"message"`
	RawDetails string `json:"raw_details,omitempty"`
}

// Comment is a snapshot of one issue comment.
type Comment struct {
	ID                int64
	Body              string
	User              string
	AuthorAssociation string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Edits             int // how many times it was edited after creation
}

// Token is what a registered token may do.
type Token struct {
	Login string
	// Repos lists the owner/name repositories the token sees; nil means all.
	// Others answer 404, as GitHub does for repositories a token cannot see.
	Repos []string
}

type state struct {
	repos    map[string]*repo // by lower-case owner/name: GitHub names are case-insensitive
	users    map[string]int64
	tokens   map[string]*tokenEntry
	apps     map[int64]*app
	installs map[int64]*installation
	// conversions are the App manifest codes not yet exchanged.
	conversions map[string]*conversion
	comments    map[int64]*comment
	checkRuns   map[int64]*checkRun
	faults      []*Fault
	hook        Hook
	rates       map[string]*rateWindow
	stats       Stats
	nextID      int64
	requestN    int64
}

func newState() state {
	return state{
		repos:     map[string]*repo{},
		users:     map[string]int64{},
		tokens:    map[string]*tokenEntry{},
		apps:      map[int64]*app{},
		installs:  map[int64]*installation{},
		comments:  map[int64]*comment{},
		checkRuns: map[int64]*checkRun{},
		rates:     map[string]*rateWindow{},
		stats:     Stats{ByRoute: map[string]int{}},
		nextID:    1000,
	}
}

// id hands out ids from one sequence, so ids of different kinds never
// collide and a test mixing them up notices.
func (st *state) id() int64 {
	st.nextID++
	return st.nextID
}

func (st *state) userID(login string) int64 {
	if id, ok := st.users[strings.ToLower(login)]; ok {
		return id
	}
	id := st.id()
	st.users[strings.ToLower(login)] = id
	return id
}

type repo struct {
	id            int64
	owner, name   string
	private       bool
	defaultBranch string
	forkOf        string // owner/name of the parent
	created       time.Time
	pushed        time.Time
	lastNumber    int
	pulls         map[int]*pull
	statuses      map[string][]*status    // by commit SHA
	perms         map[string]string       // lower-case login -> role
	rules         map[string]*BranchRules // by branch
	methods       map[string]bool         // merge methods allowed; nil: all
	releases      []Release
}

func (r *repo) fullName() string { return r.owner + "/" + r.name }

type pull struct {
	number   int
	id       int64
	title    string
	body     string
	user     string
	assoc    string
	draft    bool
	headRef  string
	headRepo string // owner/name
	headSHA  string
	baseRef  string
	baseSHA  string
	state    string
	merged   bool
	mergeSHA string
	mergedBy string
	created  time.Time
	updated  time.Time
	closed   time.Time
	mergedAt time.Time
	comments []int64
	reviews  []*review
	// mergeableFor is the base..head pair whose mergeability GitHub has
	// computed; until a read finds it current, mergeable is unknown.
	mergeableFor string
}

type comment struct {
	id        int64
	repo      string // owner/name as created
	number    int
	body      string
	user      string
	assoc     string
	created   time.Time
	updated   time.Time
	edits     int
	reactions []*reaction
}

type reaction struct {
	id      int64
	user    string
	content string
	created time.Time
}

type status struct {
	id      int64
	state   string
	context string
	desc    string
	target  string
	creator string
	created time.Time
}

type checkRun struct {
	id         int64
	repo       string
	headSHA    string
	name       string
	status     string
	conclusion string
	title      string
	summary    string
	text       string
	detailsURL string
	externalID string
	started    time.Time
	completed  time.Time
	appID      int64
	appSlug    string
	suiteID    int64
	// annotations are kept as added: GitHub appends each request's.
	annotations []Annotation
}

func (st *state) repo(full string) *repo { return st.repos[strings.ToLower(full)] }

var timeZero time.Time

func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

func (p *pull) snapshot() PullRequest {
	return PullRequest{
		Number: p.number, State: p.state, Merged: p.merged, Draft: p.draft,
		Title: p.title, Body: p.body, HeadRef: p.headRef, HeadSHA: p.headSHA,
		HeadRepo: p.headRepo, BaseRef: p.baseRef, User: p.user,
		AuthorAssociation: p.assoc, MergeCommitSHA: p.mergeSHA,
	}
}

func (c *comment) snapshot() Comment {
	return Comment{ID: c.id, Body: c.body, User: c.user, AuthorAssociation: c.assoc,
		CreatedAt: c.created, UpdatedAt: c.updated, Edits: c.edits}
}

func (c *checkRun) snapshot() CheckRun {
	return CheckRun{ID: c.id, HeadSHA: c.headSHA, Name: c.name, Status: c.status,
		Conclusion: c.conclusion, Title: c.title, Summary: c.summary, Text: c.text,
		DetailsURL: c.detailsURL, ExternalID: c.externalID, Annotations: append([]Annotation(nil), c.annotations...)}
}

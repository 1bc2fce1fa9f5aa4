package ci

import (
	"strconv"
	"strings"
)

// InputError is bad input from whoever asked for the run: a ref that does
// not exist or looks like an option, a path outside the build root, a
// sibling that is not in the workspace. The CLI exits 2 on it; anything
// else Run returns is infrastructure (git, network, disk).
type InputError struct {
	Msg string
}

func (e *InputError) Error() string { return e.Msg }

func inputErr(msg string) error { return &InputError{Msg: msg} }

// checkRef refuses refs git could read as something other than a name:
// an option (a branch called --upload-pack=... must never reach git as
// one), a revision expression, or text with whitespace or control bytes.
func checkRef(sibling, ref string) error {
	if strings.HasPrefix(ref, "-") {
		return inputErr("sibling " + sibling + ": ref " + quote(ref) +
			" starts with '-' and would be read as an option; refusing it (name a branch, tag or SHA)")
	}
	if strings.Contains(ref, "..") || strings.Contains(ref, "@{") || strings.ContainsAny(ref, "~^:?*[\\") {
		return inputErr("sibling " + sibling + ": ref " + quote(ref) +
			" is not a plain branch, tag or SHA (revision expressions are not accepted)")
	}
	for _, r := range ref {
		if r <= ' ' || r == 0x7f {
			return inputErr("sibling " + sibling + ": ref " + quote(ref) + " contains whitespace or control characters")
		}
	}
	return nil
}

func quote(s string) string { return strconv.Quote(s) }

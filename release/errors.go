package release

import (
	"fmt"
)

// InputError is a problem with the release's input: a fragment naming an
// unknown package, a malformed version or range. Its message names the
// file and the fix. Any other error is git or GitHub trouble.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

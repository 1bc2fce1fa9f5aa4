// Package webhooktest locates the real GitHub webhook payloads kept in
// this module's testdata, for tests in any package. Nothing in the module
// reads outside it, so a clone with nothing beside it passes its tests.
package webhooktest

import (
	"path/filepath"
	"runtime"
)

// Dir is the absolute path of the payloads: Dir/<event>/<file>.json.
var Dir = func() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("webhooktest: cannot locate the module's testdata")
	}
	return filepath.Join(filepath.Dir(file), "testdata", "webhooks")
}()

// Path is the absolute path of one payload, such as
// Path("pull_request/opened.payload.json").
func Path(rel string) string { return filepath.Join(Dir, filepath.FromSlash(rel)) }

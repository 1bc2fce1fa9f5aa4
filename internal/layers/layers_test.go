// Package layers holds the test that keeps the module's imports one way:
// the wiring (cmd, the service, the Action, the demo) is built on the
// domain and its helpers, never the reverse.
package layers

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/provide-io/workspace-bot/"

// wiring are the packages that put the others together; only they, their
// tests and the end-to-end tests may import one another.
var wiring = map[string]bool{
	"cmd/workspace-bot": true,
	"internal/server":   true,
	"internal/action":   true,
	// run-job: the job side of a run built on a runner, the Action's
	// workflow commands around the core's build.
	"internal/runjob": true,
	"internal/demo":   true,
	"internal/e2e":    true,
}

func TestImportsGoOneWay(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(out)
	n := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		from := strings.TrimPrefix(p.ImportPath, module)
		if wiring[from] {
			continue
		}
		for _, imp := range p.Imports {
			if to := strings.TrimPrefix(imp, module); wiring[to] {
				t.Errorf("%s imports %s: the domain and its helpers never import the wiring", from, to)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("go list named %d packages: the test looked at the wrong module", n)
	}
}

package jobs_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The runner knows nothing of Azure, HTTP or SQL: it imports the domain and the standard
// library only, and reaches the database through keyward.Store.
func TestImportsOnlyTheDomain(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case "github.com/keyward/keyward/internal/jobs", "github.com/keyward/keyward/internal/keyward":
		default:
			t.Errorf("internal/jobs depends on %s", dep)
		}
	}
}

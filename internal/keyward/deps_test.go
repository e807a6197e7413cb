package keyward_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain, kcrypto and the service import no network, database or Azure package
// (../shared/DESIGN.md): they stay pure and testable, and the one place that talks to the
// outside is the one that says so.
func TestCoreImportsNoIO(t *testing.T) {
	// database/sql itself is forbidden; database/sql/driver is only the interfaces a value
	// type implements to be scannable (google/uuid does), not database access.
	forbidden := []string{"net/http", "database/sql", "github.com/Azure/"}
	allowed := map[string]bool{"database/sql/driver": true}
	for _, pkg := range []string{"./", "../kcrypto", "../service"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "no Go files") || strings.Contains(string(out), "cannot find") || strings.Contains(string(out), "directory not found") {
				continue // a package not written yet
			}
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if allowed[dep] {
				continue
			}
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}

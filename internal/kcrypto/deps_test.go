package kcrypto

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeaf checks kcrypto stays a leaf without I/O, as DESIGN.md requires:
// no HTTP, no database, no Azure SDK, no other Keyward package.
func TestLeaf(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const self = "github.com/keyward/keyward/internal/kcrypto"
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == self:
		case dep == "net/http", dep == "database/sql", dep == "os/exec",
			strings.HasPrefix(dep, "github.com/Azure/"), strings.HasPrefix(dep, "github.com/keyward/"):
			t.Errorf("kcrypto depends on %s", dep)
		}
	}
}

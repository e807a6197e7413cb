package kcrypto

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Wycheproof vectors come from the C2SP module, fetched the way Go's own
// crypto tests fetch them: through the module cache, which CI fills from the
// module proxy. A test that cannot load them fails; it never skips.
const (
	wycheproofModule  = "github.com/C2SP/wycheproof"
	wycheproofVersion = "v0.0.0-20250901140545-b51abcfb8daf"
)

var wycheproofDir = sync.OnceValues(func() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		// Tests run on the machine that built them, so the build's GOROOT is real.
		//lint:ignore SA1019 fallback when PATH has no go
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goTool, "mod", "download", "-json", wycheproofModule+"@"+wycheproofVersion)
	cmd.Dir = os.TempDir() // outside this module, so go.mod and go.sum stay as they are
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", &wycheproofError{err: err, stderr: string(ee.Stderr) + string(out)}
		}
		return "", err
	}
	var j struct{ Dir, Error string }
	if err := json.Unmarshal(out, &j); err != nil {
		return "", err
	}
	if j.Dir == "" {
		return "", &wycheproofError{stderr: j.Error}
	}
	return filepath.Join(j.Dir, "testvectors_v1"), nil
})

type wycheproofError struct {
	err    error
	stderr string
}

func (e *wycheproofError) Error() string {
	if e.err == nil {
		return "go mod download: " + e.stderr
	}
	return "go mod download: " + e.err.Error() + ": " + e.stderr
}

// loadWycheproof decodes the named vector file into v and returns the number
// of test cases the file declares, for the caller to check it ran them all.
func loadWycheproof(t testing.TB, name string, v any) int {
	t.Helper()
	dir, err := wycheproofDir()
	if err != nil {
		t.Fatalf("load wycheproof vectors: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("load wycheproof vectors: %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	var hdr struct{ NumberOfTests int }
	if err := json.Unmarshal(data, &hdr); err != nil || hdr.NumberOfTests == 0 {
		t.Fatalf("%s declares no tests", name)
	}
	return hdr.NumberOfTests
}

// hexBytes is a byte string that Wycheproof writes in hex.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

// wycheproofCase holds the fields common to every Wycheproof test case.
type wycheproofCase struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Result  string   `json:"result"` // valid, invalid or acceptable
}

// counter counts the cases a suite ran, so that a suite that silently ran
// nothing (a renamed field, an empty group) fails.
type counter struct {
	t    testing.TB
	name string
	want int
	got  int
}

func newCounter(t testing.TB, name string, want int) *counter {
	return &counter{t: t, name: name, want: want}
}

func (c *counter) inc() { c.got++ }

func (c *counter) check() {
	c.t.Helper()
	if c.got != c.want {
		c.t.Errorf("%s: ran %d cases, file declares %d", c.name, c.got, c.want)
	}
}

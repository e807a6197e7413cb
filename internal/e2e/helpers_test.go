package e2e

import (
	"bytes"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/app/apptest"
	"github.com/keyward/keyward/internal/cli"
	"github.com/keyward/keyward/internal/config"
)

type configT = config.Config

// runCLI runs the keyward command against env as the holder of token and returns its
// combined output and exit code. No environment is read: the saved-login directory is
// empty and the server is named by flags.
func runCLI(t *testing.T, env *apptest.Env, token string, args ...string) (string, int) {
	t.Helper()
	return runCLIIn(t, env, token, "", args...)
}

func runCLIIn(t *testing.T, env *apptest.Env, token, stdin string, args ...string) (string, int) {
	t.Helper()
	t.Setenv("KEYWARD_CONFIG_DIR", t.TempDir())
	for _, k := range []string{"KEYWARD_ADDR", "KEYWARD_TOKEN", "KEYWARD_CACERT"} {
		t.Setenv(k, "")
	}
	var out bytes.Buffer
	full := append([]string{"--addr", env.Addr, "--cacert", env.CACert}, args...)
	if token != "" {
		full = append([]string{"--token", token}, full...)
	}
	code := cli.Main(ctx, full, cli.IO{In: strings.NewReader(stdin), Out: &out, Err: &out})
	return out.String(), code
}

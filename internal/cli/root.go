// Package cli implements the keyward command: the server (`keyward server`, `keyward dev`)
// and a client for every workflow, with tables for people and -o json for scripts.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

// IO is where a command reads and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// Version is set at build time with -ldflags "-X github.com/keyward/keyward/internal/cli.Version=...".
var Version = "dev"

// globals are the flags every client command shares.
type globals struct {
	io     IO
	addr   string
	token  string
	cacert string
	output string
}

// Main runs the keyward command and returns its exit code: 0 success, 1 failure, 2 usage.
func Main(ctx context.Context, args []string, stdio IO) int {
	g := &globals{io: stdio}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stdio.Err, "Error: %v\nRun '%s --help' for usage.\n", ue.err, ue.cmd)
		return 2
	}
	fmt.Fprintf(stdio.Err, "Error: %s\n", describeError(err))
	return 1
}

type usageError struct {
	cmd string
	err error
}

func (u usageError) Error() string { return u.err.Error() }

// describeError adds a next step to the errors people hit most.
func describeError(err error) string {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return err.Error()
	}
	msg := ae.Error()
	switch ae.Code {
	case api.CodeUnauthenticated:
		msg += "\n  Log in with 'keyward login' (or set KEYWARD_TOKEN)."
	case api.CodePermissionDenied:
		msg += "\n  Ask an account administrator for the role this needs."
	case api.CodeApprovalRequired:
		msg += "\n  See 'keyward approval --help'."
	}
	return msg
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "keyward",
		Short: "Keyward: own your keys, use them in Azure",
		Long: `Keyward is a key management server. Keys are created, imported, held, governed and
audited in Keyward; applications use them through its API.

Start a development server with everything embedded:

  keyward dev

then, in another shell, load the environment it writes and look around:

  source <data-dir>/dev.env
  keyward whoami
  keyward group list

Client commands find the server through KEYWARD_ADDR, KEYWARD_CACERT and KEYWARD_TOKEN
(or --addr, --cacert, --token, or what 'keyward login' saved).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{c.CommandPath(), err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.addr, "addr", "", "server URL, e.g. https://127.0.0.1:8443 (default $KEYWARD_ADDR)")
	pf.StringVar(&g.token, "token", "", "session token or application API key (default $KEYWARD_TOKEN, then the saved login)")
	pf.StringVar(&g.cacert, "cacert", "", "PEM file of the CA that signed the server's certificate (default $KEYWARD_CACERT)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.AddCommand(
		newDevCmd(g), newServerCmd(g), newOperatorCmd(g),
		newLoginCmd(g), newLogoutCmd(g), newWhoamiCmd(g), newPasswordCmd(g),
		newAccountCmd(g), newUserCmd(g), newGroupCmd(g), newAppCmd(g), newAuditCmd(g),
		newKeyCmd(g), newCryptoCmd(g), newBenchCmd(g),
	)
	for _, extra := range extraCommands {
		root.AddCommand(extra(g))
	}
	return root
}

// extraCommands lets feature files register their top-level commands.
var extraCommands []func(*globals) *cobra.Command

// exactArgs is cobra.ExactArgs with a usage error that names what is missing.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usageError{cmd.CommandPath(), fmt.Errorf("%s takes %d argument(s): %v, got %d", cmd.Name(), len(names), names, len(args))}
		}
		return nil
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{cmd.CommandPath(), fmt.Errorf("%s takes no arguments, got %v", cmd.Name(), args)}
	}
	return nil
}

func getenv(k string) string { return os.Getenv(k) }

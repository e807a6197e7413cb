package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/app"
	"github.com/keyward/keyward/internal/config"
	"github.com/keyward/keyward/internal/seal"
)

func newDevCmd(g *globals) *cobra.Command {
	var listen, dataDir, pprofListen string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Start a development server with everything embedded",
		Long: `Start a ready-to-use Keyward on loopback with everything embedded: an SQLite
database, a generated root key file, and a private CA and server certificate for HTTPS.

It also runs the Azure Key Vault emulator in-process (state in DIR/azure-emulator.json),
and Keyward reaches Azure through it: through its proxy, trusting its CA.

On the first start it creates an account, an admin user, a group "default" and an
application "dev-app" with an API key; a cloud credential "azure-emulator" for the
emulator's app registration; and three connected Azure groups, kw-standard, kw-premium and
kw-hsm, linked to the emulator's Standard vault, Premium vault and Managed HSM, whose vaults
already hold a few keys (sync a group to see them: keyward azure sync kw-standard --wait).
It prints how to log in, and writes DIR/dev.env with KEYWARD_ADDR, KEYWARD_CACERT,
KEYWARD_TOKEN (the admin's session), KEYWARD_APP_KEY and KEYWARD_AZURE_EMULATOR.
Restart it on the same --data-dir and everything is still there. Ctrl-C stops it.`,
		Example: `  keyward dev
  keyward dev --listen 127.0.0.1:9443 --data-dir ./my-keyward
  source ./my-keyward/dev.env && keyward whoami`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				d, err := os.MkdirTemp("", "keyward-dev-")
				if err != nil {
					return err
				}
				dataDir = d
			}
			return runDev(cmd.Context(), g, listen, dataDir, pprofListen)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8443", "address to serve HTTPS on")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "where to keep data (default: a new directory under $TMPDIR, printed at start)")
	cmd.Flags().StringVar(&pprofListen, "pprof-listen", "", "also serve Go's profiler on this loopback address, e.g. 127.0.0.1:6060 (see docs/benchmarks.md)")
	return cmd
}

// runDev starts the emulator, then Keyward pointed at it, serves (jobs included: linking
// the Azure groups tests their connection in a job), and sets up the dev world.
func runDev(ctx context.Context, g *globals, listen, dataDir, pprofListen string) error {
	cfg := app.DevConfig(listen, dataDir)
	cfg.Debug.PprofListen = pprofListen
	if err := cfg.Validate(); err != nil {
		return err
	}
	az, err := app.StartDevAzure(dataDir)
	if err != nil {
		return err
	}
	defer az.Close()
	a, err := app.New(ctx, cfg, app.Options{Log: app.NewLogger(cfg.Log, os.Stderr), AzureTLS: &az.TLS})
	if err != nil {
		return err
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	st, env, err := a.SetUpDev(ctx, az)
	if err != nil {
		cancel()
		<-done
		return fmt.Errorf("set up the dev server: %w", err)
	}
	app.PrintDevBanner(g.io.Out, a, st, env)
	return <-done
}

func newServerCmd(g *globals) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run Keyward for real, from a configuration file",
		Long: `Run the Keyward server as configured in a YAML file. SQLite in the data dir is the
default store; give database.driver: postgres and a dsn to share one PostgreSQL among
several nodes. TLS is on unless tls.disable is set for a loopback listener.

A minimal configuration:

  listen: 0.0.0.0:8443
  data_dir: /var/lib/keyward

Create the first account and administrator once with 'keyward operator init'.
See docs/configuration.md for every setting.`,
		Example: `  keyward server --config /etc/keyward/keyward.yaml`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			a, err := app.New(cmd.Context(), cfg, app.Options{})
			if err != nil {
				return err
			}
			defer a.Close()
			if a.CACertFile != "" {
				fmt.Fprintf(g.io.Err, "Serving %s with a generated certificate; clients trust it with KEYWARD_CACERT=%s\n", a.Addr(), a.CACertFile)
			}
			return a.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file (YAML); empty for all defaults")
	return cmd
}

func loadConfig(path string) (config.Config, error) {
	if path == "" {
		c := config.Default()
		return c, c.Validate()
	}
	return config.Load(path)
}

func newOperatorCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Server-side maintenance: first account, root key rotation, audit check",
		Long: `Commands that work directly on a server's data, on the server's machine, with the
same --config as 'keyward server'. Stop the server first for rotate-root-key.`,
	}
	cmd.AddCommand(newOperatorInitCmd(g), newRotateRootKeyCmd(g), newOperatorAuditCmd(g))
	return cmd
}

func openOffline(cmd *cobra.Command, cfgPath string) (*app.App, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	cfg.Listen = "127.0.0.1:0" // offline: nothing is served
	cfg.TLS.Disable = true
	return app.New(cmd.Context(), cfg, app.Options{Log: app.NewLogger(config.Log{Level: "warn", Format: "text"}, os.Stderr)})
}

func newOperatorInitCmd(g *globals) *cobra.Command {
	var cfgPath, account, email string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create an account and its first administrator",
		Example: `  keyward operator init --config keyward.yaml --account "Acme" --email admin@acme.example
  printf '%s' "$PW" | keyward operator init --account Acme --email admin@acme.example --password-stdin`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if account == "" || email == "" {
				return usageError{cmd.CommandPath(), fmt.Errorf("--account and --email are required")}
			}
			pw, err := readPassword(g, passwordStdin, "Password for "+email+" (at least 12 characters): ")
			if err != nil {
				return err
			}
			a, err := openOffline(cmd, cfgPath)
			if err != nil {
				return err
			}
			defer a.Close()
			acct, u, err := a.Service.Bootstrap(cmd.Context(), account, email, pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.io.Out, "Created account %q (%s) with administrator %s.\nStart the server and log in with: keyward login --email %s\n", acct.Name, acct.ID, u.Email, u.Email)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file")
	cmd.Flags().StringVar(&account, "account", "", "name of the new account")
	cmd.Flags().StringVar(&email, "email", "", "email of its first administrator")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	return cmd
}

func newRotateRootKeyCmd(g *globals) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "rotate-root-key",
		Short: "Generate a new root key and re-seal every secret under it",
		Long: `Adds a new root key to the key file, re-seals every sealed value in the database under
it in one transaction, and then drops the old key from the file. If it stops half way, the
key file still holds both keys and the command can simply be run again.

Stop the server (every node, with PostgreSQL) before running it, and distribute the new
key file to every node afterwards.`,
		Example: `  keyward operator rotate-root-key --config /etc/keyward/keyward.yaml`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return err
			}
			pass, err := cfg.Passphrase()
			if err != nil {
				return err
			}
			kr, err := seal.LoadKeyFile(cfg.Seal.KeyFile, pass)
			if err != nil {
				return err
			}
			old := kr.Active
			if _, err := kr.Rotate(time.Now()); err != nil {
				return err
			}
			// Both keys go to disk before anything is re-sealed, so a crash leaves a key file
			// that opens old and new values alike.
			if err := seal.WriteKeyFile(cfg.Seal.KeyFile, kr, pass); err != nil {
				return err
			}
			a, err := openOffline(cmd, cfgPath)
			if err != nil {
				return err
			}
			defer a.Close()
			n, err := a.Service.RewrapAll(cmd.Context())
			if err != nil {
				return fmt.Errorf("re-seal: %w (the key file keeps both keys; run the command again)", err)
			}
			retired := kr.RetireInactive()
			if err := seal.WriteKeyFile(cfg.Seal.KeyFile, kr, pass); err != nil {
				return err
			}
			fmt.Fprintf(g.io.Out, "Root key rotated: %s -> %s; %d sealed values re-sealed; retired %s.\n", old, kr.Active, n, strings.Join(retired, ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file")
	return cmd
}

func newOperatorAuditCmd(g *globals) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "audit-verify",
		Short: "Verify every account's audit chain directly in the database",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openOffline(cmd, cfgPath)
			if err != nil {
				return err
			}
			defer a.Close()
			reps, err := a.Service.VerifyAllAudit(cmd.Context())
			if err != nil {
				return err
			}
			bad := 0
			for _, r := range reps {
				chain := r.AccountID
				if chain == "" {
					chain = "(server)"
				}
				if r.OK {
					fmt.Fprintf(g.io.Out, "ok    %s  %d records\n", chain, r.Checked)
				} else {
					bad++
					fmt.Fprintf(g.io.Out, "BAD   %s  record %d: %s\n", chain, r.FirstBad, r.Reason)
				}
			}
			if bad > 0 {
				return fmt.Errorf("%d audit chain(s) failed verification", bad)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file")
	return cmd
}

// readPassword reads one line from stdin, or prompts without echo on a terminal.
func readPassword(g *globals, fromStdin bool, prompt string) (string, error) {
	if !fromStdin {
		if f, ok := g.io.In.(*os.File); ok && isTerminal(f) {
			fmt.Fprint(g.io.Err, prompt)
			pw, err := readNoEcho(f)
			fmt.Fprintln(g.io.Err)
			return pw, err
		}
	}
	line, err := bufio.NewReader(g.io.In).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

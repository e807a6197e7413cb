package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
)

func newLoginCmd(g *globals) *cobra.Command {
	var email, account string
	var passwordStdin, printToken bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in as a user and save the session for later commands",
		Long: `Log in with email and password. The session token is saved in your config directory
(~/.config/keyward/login.json, mode 0600) together with the server address and CA file, so
later commands need no environment. KEYWARD_TOKEN, when set, still takes precedence.

If you belong to several accounts, name one with --account (its id).`,
		Example: `  keyward login --addr https://127.0.0.1:8443 --cacert ca.pem --email admin@acme.example
  printf '%s' "$PW" | keyward login --email admin@acme.example --password-stdin
  export KEYWARD_TOKEN=$(keyward login --email a@b.example --password-stdin --print-token < pw.txt)`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" {
				return usageError{cmd.CommandPath(), fmt.Errorf("--email is required")}
			}
			addr, cacert, _ := g.resolved()
			opts := []client.Option{}
			if cacert != "" {
				opts = append(opts, client.WithCACertFile(cacert))
			}
			c, err := client.New(addr, opts...)
			if err != nil {
				return err
			}
			pw, err := readPassword(g, passwordStdin, "Password: ")
			if err != nil {
				return err
			}
			res, err := c.Login(cmd.Context(), api.LoginRequest{Email: email, Password: pw, Account: account})
			if err != nil {
				return err
			}
			if printToken {
				fmt.Fprintln(g.io.Out, res.Token)
				return nil
			}
			path, err := saveLogin(savedLogin{Addr: c.Addr(), CACert: cacert, Token: res.Token})
			if err != nil {
				return err
			}
			return g.emit(res.Session, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "Logged in as %s (%s) in account %s until %s.\nSession saved to %s.\n",
					res.Session.Name, res.Session.Role, res.Session.AccountID, res.ExpiresAt.Local().Format("2006-01-02 15:04"), path)
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "your email")
	cmd.Flags().StringVar(&account, "account", "", "account id, when you belong to several")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&printToken, "print-token", false, "print the token instead of saving it")
	return cmd
}

func newLogoutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "End the session and forget the saved login",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.Logout(cmd.Context()); err != nil && client.ErrorCode(err) != api.CodeUnauthenticated {
				return err
			}
			if s := loadSaved(); s.Token == c.Token() {
				saveLogin(savedLogin{Addr: s.Addr, CACert: s.CACert})
			}
			fmt.Fprintln(g.io.Out, "Logged out.")
			return nil
		},
	}
}

func newWhoamiCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the current credential belongs to",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			s, err := c.Session(cmd.Context())
			if err != nil {
				return err
			}
			return g.emit(s, func(t *tabwriter.Writer) {
				fields(t, "KIND", s.Kind, "ID", s.ID, "NAME", s.Name, "ACCOUNT", s.AccountID, "ROLE", s.Role, "SERVER", c.Addr())
			})
		},
	}
}

func newPasswordCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "password",
		Short: "Change your password (reads current and new password, one per line, from stdin when not a terminal)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			cur, err := readPassword(g, false, "Current password: ")
			if err != nil {
				return err
			}
			next, err := readPassword(g, false, "New password (at least 12 characters): ")
			if err != nil {
				return err
			}
			if err := c.ChangePassword(cmd.Context(), cur, next); err != nil {
				return err
			}
			fmt.Fprintln(g.io.Out, "Password changed.")
			return nil
		},
	}
}

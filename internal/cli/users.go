package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

func newUserCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Users of the account: people who manage keys (they never use them)",
		Long: `Users manage Keyward. Their account role is admin (everything), member (the groups they
administer) or auditor (reads everything, changes nothing). Users never perform
cryptographic operations: applications do.`,
	}
	var after string
	var limit int
	list := &cobra.Command{
		Use: "list", Short: "List the account's users", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.ListUsers(cmd.Context(), after, limit)
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) {
				row(t, "ID", "EMAIL", "ROLE", "CREATED")
				for _, u := range l.Items {
					row(t, u.ID, u.Email, u.Role, u.CreatedAt)
				}
				if l.Next != "" {
					fmt.Fprintf(t, "(more: --after %s)\n", l.Next)
				}
			})
		},
	}
	list.Flags().StringVar(&after, "after", "", "list after this user id (paging)")
	list.Flags().IntVar(&limit, "limit", 0, "page size (default 100)")

	var role string
	var passwordStdin bool
	add := &cobra.Command{
		Use: "add EMAIL", Short: "Add a user to the account (creating the user if the email is new)", Args: exactArgs("EMAIL"),
		Long: `Add a user with an account role. A new user needs an initial password (prompted, or
from stdin with --password-stdin); an existing user keeps their own.`,
		Example: `  keyward user add alice@acme.example --role member
  printf '%s' "$PW" | keyward user add bob@acme.example --role auditor --password-stdin`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			pw, err := readPassword(g, passwordStdin, "Initial password for "+args[0]+" (empty if the user exists): ")
			if err != nil {
				return err
			}
			u, err := c.CreateUser(cmd.Context(), api.UserCreate{Email: args[0], Password: pw, Role: role})
			if err != nil {
				return err
			}
			return g.emit(u, func(t *tabwriter.Writer) { fmt.Fprintf(t, "Added %s (%s) as %s.\n", u.Email, u.ID, u.Role) })
		},
	}
	add.Flags().StringVar(&role, "role", "member", "account role: admin, member or auditor")
	add.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the initial password from standard input")

	show := &cobra.Command{
		Use: "show ID", Short: "Show a user", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			u, err := c.GetUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(u, func(t *tabwriter.Writer) {
				fields(t, "ID", u.ID, "EMAIL", u.Email, "ROLE", u.Role, "CREATED", u.CreatedAt)
			})
		},
	}
	setRole := &cobra.Command{
		Use: "set-role ID ROLE", Short: "Change a user's account role (admin, member, auditor)", Args: exactArgs("ID", "ROLE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			u, err := c.UpdateUser(cmd.Context(), args[0], api.UserUpdate{Role: args[1]})
			if err != nil {
				return err
			}
			return g.emit(u, func(t *tabwriter.Writer) { fmt.Fprintf(t, "%s is now %s.\n", u.Email, u.Role) })
		},
	}
	remove := &cobra.Command{
		Use: "remove ID", Short: "Remove a user from the account", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.RemoveUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintln(g.io.Out, "User removed from the account.")
			return nil
		},
	}
	cmd.AddCommand(list, add, show, setRole, remove)
	return cmd
}

package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

func newAccountCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Accounts: the isolated top-level containers",
		Long: `An account holds users, groups, applications and keys; nothing in one account is visible
from another. A user may belong to several accounts; a session is in one of them.`,
	}
	list := &cobra.Command{
		Use: "list", Short: "List your accounts", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.ListAccounts(cmd.Context())
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) {
				row(t, "ID", "NAME", "MY ROLE", "CREATED")
				for _, a := range l.Items {
					row(t, a.ID, a.Name, a.MyRole, a.CreatedAt)
				}
			})
		},
	}
	var desc string
	create := &cobra.Command{
		Use: "create NAME", Short: "Create an account; you become its administrator", Args: exactArgs("NAME"),
		Example: `  keyward account create "Acme staging" --description "pre-production keys"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			a, err := c.CreateAccount(cmd.Context(), api.AccountCreate{Name: args[0], Description: desc})
			if err != nil {
				return err
			}
			return g.emit(a, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "Created account %q (%s). Log in to it with: keyward login --account %s --email ...\n", a.Name, a.ID, a.ID)
			})
		},
	}
	create.Flags().StringVar(&desc, "description", "", "what the account is for")
	show := &cobra.Command{
		Use: "show [ID]", Short: "Show your current account (or the one named)", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			id := ""
			if len(args) == 1 {
				id = args[0]
			} else {
				s, err := c.Session(cmd.Context())
				if err != nil {
					return err
				}
				id = s.AccountID
			}
			a, err := c.GetAccount(cmd.Context(), id)
			if err != nil {
				return err
			}
			return g.emit(a, func(t *tabwriter.Writer) {
				fields(t, "ID", a.ID, "NAME", a.Name, "DESCRIPTION", a.Description, "MY ROLE", a.MyRole, "CREATED", a.CreatedAt, "CREATED BY", a.CreatedBy)
			})
		},
	}
	var name, udesc string
	update := &cobra.Command{
		Use: "update ID", Short: "Rename or describe an account", Args: exactArgs("ID"),
		Example: `  keyward account update 0193... --name "Acme production"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var in api.AccountUpdate
			if cmd.Flags().Changed("name") {
				in.Name = &name
			}
			if cmd.Flags().Changed("description") {
				in.Description = &udesc
			}
			a, err := c.UpdateAccount(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return g.emit(a, func(t *tabwriter.Writer) { fmt.Fprintf(t, "Updated account %q.\n", a.Name) })
		},
	}
	update.Flags().StringVar(&name, "name", "", "new name")
	update.Flags().StringVar(&udesc, "description", "", "new description")
	var yes bool
	del := &cobra.Command{
		Use: "delete ID", Short: "Delete an account and everything in it (its audit trail stays)", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return usageError{cmd.CommandPath(), fmt.Errorf("deleting an account removes all its groups, applications and keys: add --yes to confirm")}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteAccount(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintln(g.io.Out, "Account deleted.")
			return nil
		},
	}
	del.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	cmd.AddCommand(list, create, show, update, del)
	return cmd
}

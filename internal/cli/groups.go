package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

// azureSummary shows an Azure group's vault and connection state in one cell.
func azureSummary(a *api.GroupAzure) string {
	if a == nil {
		return ""
	}
	state := "connected"
	if a.Status != "connected" {
		state = "NOT CONNECTED"
	}
	return fmt.Sprintf("%s %s (%s)", a.VaultKind, a.Vault, state)
}

func newGroupCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Groups: where keys live, and who may manage or use them",
		Long: `A group holds security objects and decides who may do what with them. Users are group
administrators or auditors; applications are members, which lets them use the keys.`,
	}
	var after string
	var limit int
	list := &cobra.Command{
		Use: "list", Short: "List the groups you can see", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.ListGroups(cmd.Context(), after, limit)
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) {
				row(t, "ID", "NAME", "MY ROLE", "AZURE", "DESCRIPTION")
				for _, gr := range l.Items {
					row(t, gr.ID, gr.Name, gr.MyRole, azureSummary(gr.Azure), gr.Description)
				}
				if l.Next != "" {
					fmt.Fprintf(t, "(more: --after %q)\n", l.Next)
				}
			})
		},
	}
	list.Flags().StringVar(&after, "after", "", "list after this group name (paging)")
	list.Flags().IntVar(&limit, "limit", 0, "page size (default 100)")

	var desc string
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a group; you become its administrator", Args: exactArgs("NAME"),
		Example: `  keyward group create payments --description "card data keys"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			gr, err := c.CreateGroup(cmd.Context(), api.GroupCreate{Name: args[0], Description: desc})
			if err != nil {
				return err
			}
			return g.emit(gr, func(t *tabwriter.Writer) { fmt.Fprintf(t, "Created group %q (%s).\n", gr.Name, gr.ID) })
		},
	}
	create.Flags().StringVar(&desc, "description", "", "what the group is for")

	show := &cobra.Command{
		Use: "show ID", Short: "Show a group and its members", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			gr, err := c.GetGroup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ms, err := c.ListGroupMembers(cmd.Context(), args[0])
			if err != nil && g.output == "json" {
				return g.emit(gr, nil)
			}
			out := struct {
				api.Group
				Members []api.GroupMember `json:"members,omitempty"`
			}{Group: *gr}
			if ms != nil {
				out.Members = ms.Items
			}
			return g.emit(out, func(t *tabwriter.Writer) {
				fields(t, "ID", gr.ID, "NAME", gr.Name, "DESCRIPTION", gr.Description, "MY ROLE", gr.MyRole, "AZURE", azureSummary(gr.Azure),
					"CREATED", gr.CreatedAt, "CREATED BY", gr.CreatedBy)
				if ms != nil {
					fmt.Fprintln(t)
					row(t, "MEMBER", "KIND", "ROLE")
					for _, m := range ms.Items {
						row(t, m.PrincipalID, m.Kind, m.Role)
					}
				}
			})
		},
	}
	var name, udesc string
	update := &cobra.Command{
		Use: "update ID", Short: "Rename or describe a group", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var in api.GroupUpdate
			if cmd.Flags().Changed("name") {
				in.Name = &name
			}
			if cmd.Flags().Changed("description") {
				in.Description = &udesc
			}
			gr, err := c.UpdateGroup(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return g.emit(gr, func(t *tabwriter.Writer) { fmt.Fprintf(t, "Updated group %q.\n", gr.Name) })
		},
	}
	update.Flags().StringVar(&name, "name", "", "new name")
	update.Flags().StringVar(&udesc, "description", "", "new description")
	del := &cobra.Command{
		Use: "delete ID", Short: "Delete a group", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteGroup(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintln(g.io.Out, "Group deleted.")
			return nil
		},
	}
	var role string
	addMember := &cobra.Command{
		Use:   "add-member GROUP_ID user|app PRINCIPAL_ID",
		Short: "Add a user (administrator or auditor) or an application (member) to a group",
		Args:  exactArgs("GROUP_ID", "KIND", "PRINCIPAL_ID"),
		Example: `  keyward group add-member 0193... user 0194... --role auditor
  keyward group add-member 0193... app 0195...`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			r := role
			if r == "" {
				r = map[string]string{"user": "administrator", "app": "member"}[args[1]]
			}
			m, err := c.SetGroupMember(cmd.Context(), args[0], args[1], args[2], r)
			if err != nil {
				return err
			}
			return g.emit(m, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "%s %s is now %s of the group.\n", m.Kind, m.PrincipalID, m.Role)
			})
		},
	}
	addMember.Flags().StringVar(&role, "role", "", "administrator or auditor for users (default administrator); member for apps")
	removeMember := &cobra.Command{
		Use: "remove-member GROUP_ID user|app PRINCIPAL_ID", Short: "Remove a user or application from a group",
		Args: exactArgs("GROUP_ID", "KIND", "PRINCIPAL_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.RemoveGroupMember(cmd.Context(), args[0], args[1], args[2]); err != nil {
				return err
			}
			fmt.Fprintln(g.io.Out, "Removed from the group.")
			return nil
		},
	}
	cmd.AddCommand(list, create, show, update, del, addMember, removeMember, newGroupPolicyCmd(g))
	return cmd
}

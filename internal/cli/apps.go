package cli

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

func readCerts(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read certificate: %w", err)
		}
		out = append(out, string(b))
	}
	return out, nil
}

func appRows(t *tabwriter.Writer, a *api.App) {
	fields(t, "ID", a.ID, "NAME", a.Name, "DESCRIPTION", a.Description, "GROUPS", a.Groups,
		"API KEY", map[bool]string{true: "yes", false: "no"}[a.HasAPIKey], "CERTIFICATES", a.CertFingerprints,
		"DISABLED", a.Disabled, "CREATED", a.CreatedAt, "CREATED BY", a.CreatedBy)
}

func newAppCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Applications: the principals that use keys",
		Long: `An application authenticates with an API key (shown once, at creation or regeneration)
or with a TLS client certificate registered on it, and performs cryptographic operations
with the keys of the groups it is a member of.`,
	}
	var after string
	var limit int
	list := &cobra.Command{
		Use: "list", Short: "List applications", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.ListApps(cmd.Context(), after, limit)
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) {
				row(t, "ID", "NAME", "GROUPS", "API KEY", "CERTS", "DISABLED")
				for _, a := range l.Items {
					row(t, a.ID, a.Name, a.Groups, a.HasAPIKey, len(a.CertFingerprints), a.Disabled)
				}
				if l.Next != "" {
					fmt.Fprintf(t, "(more: --after %q)\n", l.Next)
				}
			})
		},
	}
	list.Flags().StringVar(&after, "after", "", "list after this application name (paging)")
	list.Flags().IntVar(&limit, "limit", 0, "page size (default 100)")

	var desc string
	var groups, certs []string
	var noKey bool
	create := &cobra.Command{
		Use: "create NAME", Short: "Create an application and print its API key (once)", Args: exactArgs("NAME"),
		Example: `  keyward app create billing --group 0193...
  keyward app create edge-proxy --group 0193... --cert client.pem --no-api-key`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			pems, err := readCerts(certs)
			if err != nil {
				return err
			}
			res, err := c.CreateApp(cmd.Context(), api.AppCreate{Name: args[0], Description: desc, Groups: groups, Certificates: pems, NoAPIKey: noKey})
			if err != nil {
				return err
			}
			return g.emit(res, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "Created application %q (%s).\n", res.App.Name, res.App.ID)
				if res.APIKey != "" {
					fmt.Fprintf(t, "API key (shown only now; store it safely):\n\n  %s\n", res.APIKey)
				}
			})
		},
	}
	create.Flags().StringVar(&desc, "description", "", "what the application is")
	create.Flags().StringSliceVar(&groups, "group", nil, "group (id or name) to join (repeatable)")
	create.Flags().StringSliceVar(&certs, "cert", nil, "PEM file of a TLS client certificate it may authenticate with (repeatable)")
	create.Flags().BoolVar(&noKey, "no-api-key", false, "no API key: certificate authentication only")

	show := &cobra.Command{
		Use: "show ID", Short: "Show an application", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			a, err := c.GetApp(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(a, func(t *tabwriter.Writer) { appRows(t, a) })
		},
	}
	var name, udesc string
	var ugroups, ucerts []string
	var disabled bool
	update := &cobra.Command{
		Use: "update ID", Short: "Change an application (only the flags given change)", Args: exactArgs("ID"),
		Example: `  keyward app update 0195... --group 0193... --group 0196...
  keyward app update 0195... --disabled`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var in api.AppUpdate
			f := cmd.Flags()
			if f.Changed("name") {
				in.Name = &name
			}
			if f.Changed("description") {
				in.Description = &udesc
			}
			if f.Changed("group") {
				in.Groups = &ugroups
			}
			if f.Changed("cert") {
				pems, err := readCerts(ucerts)
				if err != nil {
					return err
				}
				in.Certificates = &pems
			}
			if f.Changed("disabled") {
				in.Disabled = &disabled
			}
			a, err := c.UpdateApp(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return g.emit(a, func(t *tabwriter.Writer) { appRows(t, a) })
		},
	}
	update.Flags().StringVar(&name, "name", "", "new name")
	update.Flags().StringVar(&udesc, "description", "", "new description")
	update.Flags().StringSliceVar(&ugroups, "group", nil, "the groups it belongs to (replaces the list; repeatable)")
	update.Flags().StringSliceVar(&ucerts, "cert", nil, "its certificates (replaces the list; repeatable)")
	update.Flags().BoolVar(&disabled, "disabled", false, "disable (or --disabled=false to enable) the application")
	del := &cobra.Command{
		Use: "delete ID", Short: "Delete an application", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteApp(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintln(g.io.Out, "Application deleted.")
			return nil
		},
	}
	regen := &cobra.Command{
		Use: "regenerate-key ID", Short: "Replace an application's API key (the old one stops working at once)", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.RegenerateAPIKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(k, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "New API key (shown only now; store it safely):\n\n  %s\n", k.APIKey)
			})
		},
	}
	cmd.AddCommand(list, create, show, update, del, regen)
	return cmd
}

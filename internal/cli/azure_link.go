package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

func init() { extraCommands = append(extraCommands, newAzureCmd) }

func linkRows(t *tabwriter.Writer, l *api.AzureLink) {
	status := "Connected"
	if l.Status != "connected" {
		status = "Not Connected: " + l.Reason
	}
	fields(t, "GROUP", l.Group, "STATUS", status, "VAULT", l.Vault.Name, "KIND", l.Vault.Kind, "URI", l.Vault.URI,
		"LOCATION", l.Vault.Location, "SOFT DELETE", l.Vault.SoftDelete, "RETENTION DAYS", l.Vault.RetentionDays,
		"PURGE PROTECTION", l.Vault.PurgeProtection, "CREDENTIAL", l.Credential, "PROXY", l.TLS.ProxyURL,
		"CHECKED", l.CheckedAt, "LINKED BY", l.CreatedBy)
}

func newAzureCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "azure",
		Short: "Azure groups: link a group to a vault or managed HSM",
		Long: `An Azure group is a group linked to one Azure Key Vault (Standard or Premium) or Managed
HSM. Link it with a cloud credential; Keyward tests the connection at once and saves the link
either way, with Azure's reason when it is not connected. Afterwards only the credential and
the TLS settings may change, never the vault.`,
	}
	var credential, kind, vault string
	var tf tlsFlags
	link := &cobra.Command{
		Use: "link GROUP", Short: "Link an empty group to a vault or managed HSM and test the connection", Args: exactArgs("GROUP"),
		Example: `  keyward azure link payments --credential prod --vault-kind premium --vault kv-payments
  keyward azure link hsm-keys --credential prod --vault-kind managed-hsm --vault contoso-hsm --proxy http://proxy:3128`,
		RunE: func(cmd *cobra.Command, args []string) error {
			tls, err := tf.settings(true)
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.LinkGroup(cmd.Context(), args[0], api.AzureLinkInput{Credential: credential, VaultKind: kind, Vault: vault, TLS: tls})
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) { linkRows(t, l) })
		},
	}
	link.Flags().StringVar(&credential, "credential", "", "cloud credential (id or name)")
	link.Flags().StringVar(&kind, "vault-kind", "", "standard, premium or managed-hsm")
	link.Flags().StringVar(&vault, "vault", "", "the vault's or managed HSM's name")
	tf.add(link, true)
	show := &cobra.Command{
		Use: "show GROUP", Short: "Show a group's Azure link and connection state", Args: exactArgs("GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.GetGroupLink(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) { linkRows(t, l) })
		},
	}
	var ucred string
	var utf tlsFlags
	update := &cobra.Command{
		Use: "update GROUP", Short: "Change a link's credential or TLS settings and test it again", Args: exactArgs("GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in api.AzureLinkUpdate
			if cmd.Flags().Changed("credential") {
				in.Credential = &ucred
			}
			tls, err := utf.settings(true)
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			in.TLS = tls
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.UpdateGroupLink(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) { linkRows(t, l) })
		},
	}
	update.Flags().StringVar(&ucred, "credential", "", "another cloud credential (id or name)")
	utf.add(update, true)
	test := &cobra.Command{
		Use: "test GROUP", Short: "Test a group's connection to Azure again", Args: exactArgs("GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.TestGroupLink(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := g.emit(l, func(t *tabwriter.Writer) { linkRows(t, l) }); err != nil {
				return err
			}
			if l.Status != "connected" {
				return fmt.Errorf("not connected: %s", l.Reason)
			}
			return nil
		},
	}
	unlink := &cobra.Command{
		Use: "unlink GROUP", Short: "Unlink a group that holds no keys any more", Args: exactArgs("GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.UnlinkGroup(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintln(g.io.Out, "Group unlinked from Azure.")
			return nil
		},
	}
	var wait bool
	syncCmd := &cobra.Command{
		Use: "sync GROUP", Short: "Sync a group with its vault: new keys and versions, escrowed backups, states", Args: exactArgs("GROUP"),
		Long: `Start a sync job: Keyward lists the vault's keys, adds every key version it does not have yet
as a virtual key (repeat syncs add nothing twice), escrows each changed key's backup blob
(sealed), and refreshes states: disabled, soft-deleted in Azure with its purge date, purged.
It works concurrently within the vault's throttling budget. Keys unchanged since the last sync
cost no calls of their own.`,
		Example: `  keyward azure sync payments --wait
  keyward job watch $(keyward -o json azure sync payments | jq -r .id)`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.SyncGroup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if wait {
				_, err = g.watchJob(cmd.Context(), c, j.ID, time.Second)
				return err
			}
			return g.emit(j, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "Sync started as job %s. Follow it with: keyward job watch %s\n", j.ID, j.ID)
			})
		},
	}
	syncCmd.Flags().BoolVar(&wait, "wait", false, "follow the job until it ends")
	cmd.AddCommand(link, show, update, test, unlink, syncCmd, newSyncScheduleCmd(g))
	cmd.AddCommand(newAzureKeyCmd(g)) // azure_lifecycle.go and azure_put.go
	return cmd
}

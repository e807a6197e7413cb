package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
)

// newAzureKeyCmd is `keyward azure key`: the lifecycle and rotation of keys in Azure,
// through their virtual keys.
func newAzureKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Keys in Azure: create, import, copy; list, tag, deactivate, delete, recover, purge, restore, rotate",
		Long: `Each version of a key in an Azure group's vault is a virtual key in Keyward: it carries the
Azure key's name, version, state and source, never its private material. These commands change
the key in Azure; each starts a job (add --wait to follow it to the end, or follow it later with
keyward job watch ID) and is audited.

KEY is a virtual key's id or name: the Azure key's name is its current version, older versions
are named "NAME (VERSION)". Tags and activation apply to that version; delete, recover, purge,
restore, re-import, remove and rotate apply to the whole Azure key.

The life of a key in Azure:

  enabled <-> disabled          keyward azure key deactivate | activate
  live -> soft-deleted          keyward azure key delete --yes   (a fresh backup is escrowed first)
  soft-deleted -> live          keyward azure key recover        (every version comes back)
  soft-deleted -> purged        keyward azure key purge --yes    (not under purge protection)
  purged -> live                keyward azure key restore        (from Keyward's escrowed backup)
                                keyward azure key reimport       (Keyward-owned keys, from their source)
  purged -> forgotten           keyward azure key remove --yes   (destroys the escrowed backup too)

` + azurePutTiers,
	}
	var wait bool
	started := func(cmd *cobra.Command, c *client.Client, j *api.Job, what string) error {
		if wait {
			_, err := g.watchJob(cmd.Context(), c, j.ID, time.Second)
			return err
		}
		return g.emit(j, func(t *tabwriter.Writer) {
			fmt.Fprintf(t, "%s: job %s started. Follow it with: keyward job watch %s\n", what, j.ID, j.ID)
		})
	}
	// jobCmd builds a command that starts one job for KEY.
	jobCmd := func(use, short, long, example string, call func(ctx context.Context, c *client.Client, key string) (*api.Job, error)) *cobra.Command {
		return &cobra.Command{
			Use: use + " KEY", Short: short, Long: long, Example: example, Args: exactArgs("KEY"),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.client()
				if err != nil {
					return err
				}
				j, err := call(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				return started(cmd, c, j, j.Title)
			},
		}
	}
	var yes bool
	needYes := func(cmd *cobra.Command, what string) error {
		if !yes {
			return usageError{cmd.CommandPath(), fmt.Errorf("%s: add --yes to confirm", what)}
		}
		return nil
	}

	list := newAzureKeyListCmd(g)

	var tags []string
	var clearTags bool
	tag := &cobra.Command{
		Use: "tag KEY", Short: "Replace the tags of a key version in Azure", Args: exactArgs("KEY"),
		Long: `Write tags to the Azure key version of a virtual key. The given tags replace all of the
version's tags (Azure keeps tags per version); --clear removes them all. Azure allows 15 tags,
names up to 512 characters and values up to 256.`,
		Example: `  keyward azure key tag payments --tag team=payments --tag env=prod --wait
  keyward azure key tag payments --clear`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(tags) == 0 && !clearTags {
				return usageError{cmd.CommandPath(), errors.New("give --tag KEY=VALUE (repeatable) or --clear")}
			}
			m, err := parseTags(tags)
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.SetAzureKeyTags(cmd.Context(), args[0], m)
			if err != nil {
				return err
			}
			return started(cmd, c, j, j.Title)
		},
	}
	tag.Flags().StringArrayVar(&tags, "tag", nil, "a tag KEY=VALUE (repeatable)")
	tag.Flags().BoolVar(&clearTags, "clear", false, "remove every tag")

	deactivate := jobCmd("deactivate", "Disable a key version in Azure (applications can no longer use it)",
		`Disable the Azure key version of a virtual key. Azure refuses every operation with a disabled
version; the virtual key shows "disabled" and its Keyward state "deactivated". Activate undoes it.`,
		"  keyward azure key deactivate payments --wait",
		func(ctx context.Context, c *client.Client, key string) (*api.Job, error) {
			return c.DeactivateAzureKey(ctx, key)
		})
	activate := jobCmd("activate", "Enable a disabled key version in Azure again", "",
		"  keyward azure key activate payments --wait",
		func(ctx context.Context, c *client.Client, key string) (*api.Job, error) {
			return c.ActivateAzureKey(ctx, key)
		})

	del := &cobra.Command{
		Use: "delete KEY --yes", Short: "Soft-delete a key in Azure, with all its versions", Args: exactArgs("KEY"),
		Long: `Delete the Azure key of a virtual key, every version of it. Applications using the key stop
working at once. Keyward first escrows a fresh backup of the key. Where the vault has soft
delete, the key is kept as a deleted key until its purge date (shown by keyward azure key list)
and can be recovered until then; where it has not, the delete is final (the escrowed backup can
still restore it). Needs --yes.`,
		Example: `  keyward azure key delete payments --yes --wait`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needYes(cmd, "deleting a key in Azure stops every application that uses it"); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.DeleteAzureKey(cmd.Context(), args[0], true)
			if err != nil {
				return err
			}
			return started(cmd, c, j, j.Title)
		},
	}
	recoverCmd := jobCmd("recover", "Recover a soft-deleted key in Azure with all its versions",
		`Undo a soft delete: the key comes back with every version, and Keyward refreshes the state of
each virtual key from Azure.`,
		"  keyward azure key recover payments --wait",
		func(ctx context.Context, c *client.Client, key string) (*api.Job, error) {
			return c.RecoverAzureKey(ctx, key)
		})
	purge := &cobra.Command{
		Use: "purge KEY --yes", Short: "Purge a soft-deleted key from Azure for good", Args: exactArgs("KEY"),
		Long: `Remove a soft-deleted key from the vault for good. Keyward refuses, without calling Azure, where
the vault has purge protection (Azure purges the key itself on its purge date) or no soft delete.
Afterwards a native key can come back only from Keyward's escrowed backup (restore), a
Keyward-owned key from its source (reimport). Needs --yes.`,
		Example: `  keyward azure key purge payments --yes --wait`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needYes(cmd, "a purge cannot be undone in Azure"); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.PurgeAzureKey(cmd.Context(), args[0], true)
			if err != nil {
				return err
			}
			return started(cmd, c, j, j.Title)
		},
	}
	restore := jobCmd("restore", "Restore a purged key into Azure from Keyward's escrowed backup",
		`Put a purged key back into its vault from the backup blob Keyward escrowed (sync and delete take
it): every version comes back with its version id, and the virtual keys are live again.`,
		"  keyward azure key restore payments --wait",
		func(ctx context.Context, c *client.Client, key string) (*api.Job, error) {
			return c.RestoreAzureKey(ctx, key)
		})
	reimport := jobCmd("reimport", "Re-import a purged Keyward-owned key into Azure from its source key",
		`Put a purged Keyward-owned key (source "keyward") back into its vault: the material of its
Keyward source key is imported under the same name, as a new version. HSM-protected keys go by
Azure's BYOK transfer.`,
		"  keyward azure key reimport payments --wait",
		func(ctx context.Context, c *client.Client, key string) (*api.Job, error) {
			return c.ReimportAzureKey(ctx, key)
		})

	remove := &cobra.Command{
		Use: "remove KEY --yes", Short: "Forget a purged key: remove its virtual keys and destroy its escrowed backup", Args: exactArgs("KEY"),
		Long: `Remove from Keyward the virtual keys of an Azure key that Azure has purged, and, once no version
of the name is left, destroy its escrowed backup for good. It is refused while the key is live or
soft-deleted in Azure. It calls no Azure API. Needs --yes.`,
		Example: `  keyward azure key remove payments --yes`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needYes(cmd, "removing a purged key destroys its escrowed backup"); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			r, err := c.RemoveAzureKey(cmd.Context(), args[0], true)
			if err != nil {
				return err
			}
			return g.emit(r, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "Removed %d virtual keys.", len(r.Removed))
				if r.EscrowRemoved {
					fmt.Fprint(t, " The escrowed backup is destroyed.")
				}
				fmt.Fprintln(t)
			})
		},
	}
	remove.Flags().BoolVarP(&yes, "yes", "y", false, "confirm")
	del.Flags().BoolVarP(&yes, "yes", "y", false, "confirm")
	purge.Flags().BoolVarP(&yes, "yes", "y", false, "confirm")

	var from string
	rotate := &cobra.Command{
		Use: "rotate KEY [--from KEYWARD_KEY]", Short: "Make a new version of a key in Azure; the name moves to it", Args: exactArgs("KEY"),
		Long: `Rotate the Azure key of a virtual key. Without --from, Azure makes the new version (Azure
cannot rotate AES keys of a managed HSM: use --from). With --from, the new version holds the
material of that Keyward key, which must permit EXPORT and be of the key's type; the virtual
key's source then reads "keyward". HSM-protected keys get the material by Azure's BYOK transfer.

The new version becomes a new virtual key named after the Azure key; the previous one takes the
name "NAME (VERSION)". To rotate a Keyward key together with its Azure copies, use
keyward key rotate KEY --azure-copies all (see keyward azure key copies).`,
		Example: `  keyward azure key rotate signing --wait
  keyward azure key rotate signing --from signing-2027 --wait`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.RotateAzureKey(cmd.Context(), args[0], from)
			if err != nil {
				return err
			}
			return started(cmd, c, j, j.Title)
		},
	}
	rotate.Flags().StringVar(&from, "from", "", "a Keyward key (id or name) whose material becomes the new version")

	copies := &cobra.Command{
		Use: "copies KEYWARD_KEY", Short: "List a Keyward key's live Azure copies (rotated with it on request)", Args: exactArgs("KEYWARD_KEY"),
		Example: `  keyward azure key copies signing
  keyward key rotate signing --azure-copies all`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.ListAzureCopies(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) { virtualKeyTable(t, l.Items) })
		},
	}
	for _, c := range []*cobra.Command{tag, deactivate, activate, del, recoverCmd, purge, restore, reimport, rotate} {
		c.Flags().BoolVar(&wait, "wait", false, "follow the job until it ends")
	}
	show := &cobra.Command{
		Use: "show KEY", Short: "Show a virtual key with its Azure details", Args: exactArgs("KEY"),
		Example: `  keyward azure key show payments
  keyward -o json azure key show "payments (3f9a1c2e)"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.GetKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if k.Azure == nil {
				return fmt.Errorf("%q is not a virtual key: it is not in an Azure group (see keyward key show)", k.Name)
			}
			return g.emit(k, func(t *tabwriter.Writer) { virtualKeyFields(t, k) })
		},
	}
	cmd.AddCommand(azurePutCmds(g)...)
	cmd.AddCommand(list, show, tag, deactivate, activate, del, recoverCmd, purge, restore, reimport, remove, rotate, copies)
	return cmd
}

func newAzureKeyListCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use: "list GROUP", Short: "List an Azure group's virtual keys with their state in Azure", Args: exactArgs("GROUP"),
		Example: `  keyward azure key list payments
  keyward -o json azure key list payments`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			grp, err := c.GetGroup(cmd.Context(), args[0]) // by id or name
			if err != nil {
				return err
			}
			var items []api.Key
			q := client.KeyQuery{Group: grp.ID, Limit: 1000}
			for {
				l, err := c.ListKeys(cmd.Context(), q)
				if err != nil {
					return err
				}
				for _, k := range l.Items {
					if k.Azure != nil && (all || k.Azure.State != "purged" || k.Azure.Current) {
						items = append(items, k)
					}
				}
				if l.Next == "" {
					break
				}
				q.After = l.Next
			}
			return g.emit(api.KeyList{Items: items}, func(t *tabwriter.Writer) { virtualKeyTable(t, items) })
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also list the older versions of purged keys")
	return cmd
}

// virtualKeyTable prints virtual keys with their Azure side.
func virtualKeyTable(t *tabwriter.Writer, ks []api.Key) {
	row(t, "NAME", "AZURE KEY", "VERSION", "TYPE", "STATE IN AZURE", "PURGE DATE", "SOURCE", "TAGS")
	for _, k := range ks {
		a := k.Azure
		if a == nil {
			continue
		}
		state := a.State
		if state == "soft-deleted" {
			state = "soft-deleted in Azure"
		}
		source := a.Source
		if a.SourceKey != "" {
			source += " (" + a.SourceKey + ")"
		}
		row(t, k.Name, a.KeyName, shortVersion(a.Version), a.KeyType, state, derefTime(a.ScheduledPurge), source, formatTags(k.Tags))
	}
}

func shortVersion(v string) string { return v[:min(8, len(v))] }

// virtualKeyFields prints one virtual key with its Azure side.
func virtualKeyFields(t *tabwriter.Writer, k *api.Key) {
	a := k.Azure
	state := a.State
	if state == "soft-deleted" {
		state = "soft-deleted in Azure"
	}
	source := a.Source
	if a.SourceKey != "" {
		source += " (Keyward key " + a.SourceKey + ")"
	}
	fields(t, "ID", k.ID, "NAME", k.Name, "GROUP", k.Group, "VAULT", a.Vault, "AZURE KEY", a.KeyName, "VERSION", a.Version,
		"CURRENT", a.Current, "KEY ID", a.KID, "KEY TYPE", a.KeyType, "PROTECTION", a.Protection, "SOURCE", source,
		"STATE IN AZURE", state, "KEYWARD STATE", k.State, "AZURE OPS", a.Ops, "KCV", k.KCV, "TAGS", formatTags(k.Tags),
		"NOT BEFORE", derefTime(a.NotBefore), "EXPIRES", derefTime(a.Expires), "CREATED IN AZURE", derefTime(a.Created),
		"UPDATED IN AZURE", derefTime(a.Updated), "RECOVERY LEVEL", a.RecoveryLevel, "DELETED", derefTime(a.DeletedAt),
		"PURGE DATE", derefTime(a.ScheduledPurge))
}

package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

func init() { extraCommands = append(extraCommands, newApprovalCmd) }

func newApprovalCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approval",
		Short: "Ask for, give and use approvals of operations a group's quorum holds",
		Long: `A group's quorum policy (keyward group policy set --quorum) holds sensitive operations
until M of its N approvers agree: exporting a key, destroying one, changing the group (its
policy included) or deleting it. Attempting one of them directly is refused with what to do.

  1. The requester asks:     keyward approval request object.export payments-key --reason "escrow"
  2. Approvers answer:       keyward approval approve ID   (or deny ID --comment why)
  3. The requester runs it:  keyward approval execute ID --out key.pem

The operation runs at step 3, with the requester's rights, exactly as requested, once.
A request expires if it is not executed in time (24h unless --expires-in says otherwise);
the requester may withdraw it (cancel). Every step is in the audit trail.`,
	}
	cmd.AddCommand(newApprovalRequestCmd(g), newApprovalListCmd(g), newApprovalShowCmd(g),
		newApprovalVoteCmd(g, true), newApprovalVoteCmd(g, false), newApprovalCancelCmd(g), newApprovalExecuteCmd(g))
	return cmd
}

func approvalTable(t *tabwriter.Writer, a *api.Approval) {
	params := "-"
	if a.Params != nil {
		b, _ := json.Marshal(a.Params)
		params = string(b)
	}
	fields(t, "ID", a.ID, "ACTION", a.Action, "TARGET", a.Target, "PARAMETERS", params, "REASON", a.Reason,
		"REQUESTED BY", a.RequesterName, "STATUS", a.Status, "APPROVALS", fmt.Sprintf("%d of %d", a.Approvals, a.Required),
		"NOTE", a.Note, "CREATED", a.CreatedAt, "EXPIRES", a.ExpiresAt)
	for _, v := range a.Votes {
		verb := "approved"
		if !v.Approve {
			verb = "denied"
		}
		fields(t, "  "+verb, fmt.Sprintf("%s at %s %s", v.Name, v.At.Local().Format("2006-01-02 15:04:05"), v.Comment))
	}
}

func newApprovalRequestCmd(g *globals) *cobra.Command {
	var reason, expires, format, kek, wrapAlg, name, description, policyFile string
	var clearPolicy bool
	cmd := &cobra.Command{
		Use:   "request ACTION TARGET",
		Short: "Ask the group's approvers for an operation its quorum holds",
		Long: `ACTION is object.export or object.destroy (TARGET a key's id or name), or group.update
or group.delete (TARGET a group's id or name). Give the operation's parameters as its own
command would: --format/--kek/--wrap-alg for an export; --name, --description and
--policy-file or --clear-policy for a group change.`,
		Example: `  keyward approval request object.export payments-key --format pem --reason "escrow for DR"
  keyward approval request object.destroy old-signer --expires-in 4h
  keyward approval request group.update payments --policy-file relaxed.json --reason "quarterly review"`,
		Args: exactArgs("ACTION", "TARGET"),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := api.ApprovalCreate{Action: args[0], Target: args[1], Reason: reason, ExpiresIn: expires}
			switch args[0] {
			case "object.export":
				in.Params = &api.ApprovalParams{Export: &api.KeyExport{Format: format, KEK: kek, WrapAlgorithm: wrapAlg}}
			case "group.update":
				up := &api.GroupUpdate{}
				if cmd.Flags().Changed("name") {
					up.Name = &name
				}
				if cmd.Flags().Changed("description") {
					up.Description = &description
				}
				switch {
				case clearPolicy:
					up.Policy = &api.GroupPolicy{}
				case policyFile != "":
					pol, err := (&policyFlags{file: policyFile}).policy()
					if err != nil {
						return fmt.Errorf("--policy-file: %w", err)
					}
					up.Policy = pol
				}
				in.Params = &api.ApprovalParams{Group: up}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			a, err := c.CreateApproval(cmd.Context(), in)
			if err != nil {
				return err
			}
			return g.emit(a, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "Asked for approval: %d of the group's approvers must approve; then run: keyward approval execute %s\n\n", a.Required, a.ID)
				approvalTable(t, a)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&reason, "reason", "", "why, for the approvers and the audit trail")
	f.StringVar(&expires, "expires-in", "", "how long the request waits for approval and execution, e.g. 4h (default 24h, at most 168h)")
	f.StringVar(&format, "format", "", "object.export: pem, der, jwk, raw, base64 or hex")
	f.StringVar(&kek, "kek", "", "object.export: wrap the export with this Keyward key")
	f.StringVar(&wrapAlg, "wrap-alg", "", "object.export: AES-KW, AES-KWP, RSA-OAEP or RSA-OAEP-256 (with --kek)")
	f.StringVar(&name, "name", "", "group.update: the group's new name")
	f.StringVar(&description, "description", "", "group.update: the group's new description")
	f.StringVar(&policyFile, "policy-file", "", "group.update: the group's new policy (JSON, as 'keyward group policy show -o json' prints)")
	f.BoolVar(&clearPolicy, "clear-policy", false, "group.update: remove the group's policy")
	return cmd
}

func newApprovalListCmd(g *globals) *cobra.Command {
	var status, after string
	var limit int
	cmd := &cobra.Command{
		Use: "list", Short: "List the approval requests you may see, newest first", Args: noArgs,
		Example: `  keyward approval list --status pending`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.ListApprovals(cmd.Context(), status, after, limit)
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) {
				row(t, "ID", "ACTION", "TARGET", "REQUESTED BY", "STATUS", "APPROVALS", "EXPIRES")
				for _, a := range l.Items {
					row(t, a.ID, a.Action, a.Target, a.RequesterName, a.Status, fmt.Sprintf("%d/%d", a.Approvals, a.Required), a.ExpiresAt)
				}
				if l.Next != "" {
					fmt.Fprintf(t, "\nMore: keyward approval list --after %s\n", l.Next)
				}
			})
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "pending, approved, denied, executed, cancelled or expired")
	cmd.Flags().StringVar(&after, "after", "", "list after this id (the previous page's last)")
	cmd.Flags().IntVar(&limit, "limit", 0, "page size (default 100)")
	return cmd
}

func newApprovalShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "show ID", Short: "Show an approval request and its answers", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			a, err := c.GetApproval(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(a, func(t *tabwriter.Writer) { approvalTable(t, a) })
		},
	}
}

func newApprovalVoteCmd(g *globals, approve bool) *cobra.Command {
	var comment string
	use, short := "approve ID", "Approve a request (the group's approvers)"
	if !approve {
		use, short = "deny ID", "Deny a request (the group's approvers): one denial ends it"
	}
	cmd := &cobra.Command{
		Use: use, Short: short, Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			answer := c.ApproveApproval
			if !approve {
				answer = c.DenyApproval
			}
			a, err := answer(cmd.Context(), args[0], comment)
			if err != nil {
				return err
			}
			return g.emit(a, func(t *tabwriter.Writer) { approvalTable(t, a) })
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "a word for the requester and the audit trail")
	return cmd
}

func newApprovalCancelCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "cancel ID", Short: "Withdraw your request", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			a, err := c.CancelApproval(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(a, func(t *tabwriter.Writer) { approvalTable(t, a) })
		},
	}
}

func newApprovalExecuteCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "execute ID",
		Short: "Run your approved request's operation, once",
		Long: `Runs the operation as requested. An export's material is written to --out (mode 0600) or
stdout, as 'keyward key export' does; -o json prints the whole answer instead.`,
		Example: `  keyward approval execute 0193a7c2-... --out payments-key.pem`,
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.ExecuteApproval(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.output == "json" {
				return g.emit(res, nil)
			}
			if res.Export != nil {
				return writeOutput(g, out, res.Export.Material)
			}
			what := strings.TrimPrefix(res.Approval.Target, "object:")
			fmt.Fprintf(g.io.Out, "Executed %s of %s.\n", res.Approval.Action, what)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "-", "object.export: file to write, - for stdout")
	return cmd
}

package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

// newGroupPolicyCmd is `keyward group policy`: what a group requires of its objects.
func newGroupPolicyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "A group's crypto and metadata policy: what every object in it must be",
		Long: `A group's policy is checked whenever an object is created in the group (generated,
imported, copied in, or made by a rotation) and whenever an object's tags, dates or permitted
operations change. The crypto policy's operations are also checked on every use: an
application cannot encrypt with a key of a group whose policy allows only decryption.

The crypto policy limits types, sizes and curves, and the cryptographic operations
applications may perform. The metadata policy names the tags every object must carry, the
only other tags allowed, whether activation and deactivation dates are required, the longest
lifetime, the permitted operations objects may be given, and whether any may be exportable.

Objects already in the group are not changed when the policy changes; a later change to
their tags, dates or operations must comply.

The quorum policy holds sensitive operations until M of its N approvers agree: exporting a
key (copies out of the group are then refused), destroying one, changing the group (its
policy included) or deleting it. See 'keyward approval --help'.`,
	}
	show := &cobra.Command{
		Use: "show GROUP", Short: "Show a group's policy", Args: exactArgs("GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			gr, err := c.GetGroup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			pol := gr.Policy
			if pol == nil {
				pol = &api.GroupPolicy{}
			}
			names := g.approverNames(cmd, pol)
			return g.emit(pol, func(t *tabwriter.Writer) { policyTable(t, pol, names) })
		},
	}
	var f policyFlags
	set := &cobra.Command{
		Use:   "set GROUP",
		Short: "Replace a group's policy with the one the flags (or --file) give",
		Args:  exactArgs("GROUP"),
		Example: `  # RSA-3072/4096 and P-384 only; every key owned, dated, at most a year long
  keyward group policy set payments --types RSA,EC --rsa-sizes 3072,4096 --curves P-384 \
      --require-tags owner --require-deactivation --max-lifetime-days 365 --forbid-export

  # a verification-only group
  keyward group policy set partners --crypto-ops VERIFY

  # exports and destroys need 2 of 3 approvers; so does changing this policy
  keyward group policy set payments --quorum 2 --approvers ann@example.com,bob@example.com,cy@example.com \
      --quorum-actions object.export,object.destroy,group.update,group.delete

  # from a file (the JSON that 'keyward group policy show -o json' prints)
  keyward group policy set payments --file policy.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			pol, err := f.policy()
			if err != nil {
				return err
			}
			if len(f.approvers) > 0 {
				if pol.Quorum.Approvers, err = g.userIDs(cmd, f.approvers); err != nil {
					return fmt.Errorf("--approvers: %w", err)
				}
			}
			return g.setPolicy(cmd, args[0], pol)
		},
	}
	f.add(set)
	clearCmd := &cobra.Command{
		Use: "clear GROUP", Short: "Remove a group's policy: the group then allows everything", Args: exactArgs("GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.setPolicy(cmd, args[0], &api.GroupPolicy{})
		},
	}
	cmd.AddCommand(show, set, clearCmd)
	return cmd
}

func (g *globals) setPolicy(cmd *cobra.Command, group string, pol *api.GroupPolicy) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	gr, err := c.UpdateGroup(cmd.Context(), group, api.GroupUpdate{Policy: pol})
	if err != nil {
		return err
	}
	out := gr.Policy
	if out == nil {
		out = &api.GroupPolicy{}
	}
	names := g.approverNames(cmd, out)
	return g.emit(out, func(t *tabwriter.Writer) {
		fmt.Fprintf(t, "Set the policy of group %q.\n\n", gr.Name)
		policyTable(t, out, names)
	})
}

type policyFlags struct {
	file                                   string
	types, curves, cryptoOps, objectOps    []string
	requireTags, allowTags                 []string
	aesSizes, rsaSizes                     []int
	requireActivation, requireDeactivation bool
	forbidExport                           bool
	maxLifetimeDays                        int
	quorum                                 int
	approvers, quorumActions               []string
}

func (f *policyFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.file, "file", "", "read the whole policy from this JSON file instead of the flags")
	fl.StringSliceVar(&f.types, "types", nil, "object types allowed: AES, RSA, EC, HMAC, SECRET, CERTIFICATE (default all)")
	fl.IntSliceVar(&f.aesSizes, "aes-sizes", nil, "AES key sizes allowed: 128, 192, 256 (default all)")
	fl.IntSliceVar(&f.rsaSizes, "rsa-sizes", nil, "RSA key sizes allowed: 2048, 3072, 4096 (default all)")
	fl.StringSliceVar(&f.curves, "curves", nil, "EC curves allowed: P-256, P-384, P-521, secp256k1 (default all)")
	fl.StringSliceVar(&f.cryptoOps, "crypto-ops", nil, "operations applications may perform: ENCRYPT, DECRYPT, WRAPKEY, UNWRAPKEY, SIGN, VERIFY, MACGENERATE, MACVERIFY (default all)")
	fl.StringSliceVar(&f.requireTags, "require-tags", nil, "tag keys every object must carry with a value")
	fl.StringSliceVar(&f.allowTags, "allow-tags", nil, "the only other tag keys objects may carry (default any)")
	fl.BoolVar(&f.requireActivation, "require-activation", false, "every object needs an activation date")
	fl.BoolVar(&f.requireDeactivation, "require-deactivation", false, "every object needs a deactivation date")
	fl.IntVar(&f.maxLifetimeDays, "max-lifetime-days", 0, "at most this many days from activation to deactivation (implies --require-deactivation)")
	fl.StringSliceVar(&f.objectOps, "object-ops", nil, "the permitted operations objects may be given (default all)")
	fl.BoolVar(&f.forbidExport, "forbid-export", false, "no object may permit EXPORT")
	fl.IntVar(&f.quorum, "quorum", 0, "how many approvers must approve the --quorum-actions (M of the N --approvers)")
	fl.StringSliceVar(&f.approvers, "approvers", nil, "the users who approve, by email or id (with --quorum)")
	fl.StringSliceVar(&f.quorumActions, "quorum-actions", nil, "what needs approval: object.export, object.destroy, group.update, group.delete (with --quorum)")
}

func (f *policyFlags) policy() (*api.GroupPolicy, error) {
	if f.file != "" {
		b, err := os.ReadFile(f.file)
		if err != nil {
			return nil, fmt.Errorf("--file: %w", err)
		}
		var p api.GroupPolicy
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("--file %s: not a policy: %w", f.file, err)
		}
		return &p, nil
	}
	return &api.GroupPolicy{
		Crypto: api.CryptoPolicy{Types: upper(f.types), AESSizes: f.aesSizes, RSASizes: f.rsaSizes, Curves: f.curves,
			Operations: upper(f.cryptoOps)},
		Metadata: api.MetadataPolicy{RequiredTags: f.requireTags, AllowedTags: f.allowTags, RequireActivation: f.requireActivation,
			RequireDeactivation: f.requireDeactivation, MaxLifetimeDays: f.maxLifetimeDays, Operations: upper(f.objectOps),
			ForbidExport: f.forbidExport},
		Quorum: api.QuorumPolicy{Required: f.quorum, Actions: f.quorumActions},
	}, nil
}

// approverNames maps a quorum's approver ids to emails, for people, when the caller may list
// the account's users; otherwise the table shows ids.
func (g *globals) approverNames(cmd *cobra.Command, p *api.GroupPolicy) map[string]string {
	if p.Quorum.Required == 0 || g.output == "json" {
		return nil
	}
	c, err := g.client()
	if err != nil {
		return nil
	}
	names := map[string]string{}
	for _, id := range p.Quorum.Approvers {
		if u, err := c.GetUser(cmd.Context(), id); err == nil {
			names[id] = u.Email
		}
	}
	return names
}

// userIDs resolves users named by email or id to ids.
func (g *globals) userIDs(cmd *cobra.Command, refs []string) ([]string, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	byEmail := map[string]string{}
	ids := map[string]bool{}
	after := ""
	for {
		l, err := c.ListUsers(cmd.Context(), after, 1000)
		if err != nil {
			return nil, fmt.Errorf("look up users by email: %w (give user ids instead)", err)
		}
		for _, u := range l.Items {
			byEmail[strings.ToLower(u.Email)], ids[u.ID] = u.ID, true
		}
		if l.Next == "" {
			break
		}
		after = l.Next
	}
	out := make([]string, len(refs))
	for i, r := range refs {
		switch id, ok := byEmail[strings.ToLower(r)]; {
		case ok:
			out[i] = id
		case ids[r]:
			out[i] = r
		default:
			return nil, fmt.Errorf("no user %q in this account", r)
		}
	}
	return out, nil
}

// policyTable prints a policy, "any" where it allows everything.
func policyTable(t *tabwriter.Writer, p *api.GroupPolicy, approverNames map[string]string) {
	list := func(v any, n int) string {
		if n == 0 {
			return "any"
		}
		return strings.Trim(fmt.Sprint(v), "[]")
	}
	yes := func(b bool) string {
		if b {
			return "required"
		}
		return "optional"
	}
	c, m := &p.Crypto, &p.Metadata
	life := "no limit"
	if m.MaxLifetimeDays > 0 {
		life = fmt.Sprintf("%d days", m.MaxLifetimeDays)
	}
	export := "allowed"
	if m.ForbidExport {
		export = "forbidden"
	}
	fields(t, "TYPES", list(c.Types, len(c.Types)), "AES SIZES", list(c.AESSizes, len(c.AESSizes)),
		"RSA SIZES", list(c.RSASizes, len(c.RSASizes)), "CURVES", list(c.Curves, len(c.Curves)),
		"CRYPTO OPERATIONS", list(c.Operations, len(c.Operations)),
		"REQUIRED TAGS", strings.Trim(fmt.Sprint(m.RequiredTags), "[]"), "ALLOWED TAGS", list(m.AllowedTags, len(m.AllowedTags)),
		"ACTIVATION DATE", yes(m.RequireActivation), "DEACTIVATION DATE", yes(m.RequireDeactivation || m.MaxLifetimeDays > 0),
		"MAX LIFETIME", life, "OBJECT OPERATIONS", list(m.Operations, len(m.Operations)), "EXPORT", export)
	quorum := "none"
	if q := p.Quorum; q.Required > 0 {
		who := make([]string, len(q.Approvers))
		for i, id := range q.Approvers {
			who[i] = id
			if n := approverNames[id]; n != "" {
				who[i] = n
			}
		}
		quorum = fmt.Sprintf("%d of %d approvers (%s) for %s", q.Required, len(q.Approvers), strings.Join(who, ", "), strings.Join(q.Actions, ", "))
	}
	fields(t, "QUORUM", quorum)
}

package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
)

// keySpecFlags are the flags every new key takes.
type keySpecFlags struct {
	group, description   string
	ops, tags            []string
	activate, deactivate string
}

func (f *keySpecFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.group, "group", "", "group id or name (required)")
	fl.StringVar(&f.description, "description", "", "what the key is for")
	fl.StringSliceVar(&f.ops, "ops", nil, "permitted operations, e.g. ENCRYPT,DECRYPT,EXPORT (default: every use of the type except EXPORT and APPMANAGEABLE)")
	fl.StringArrayVar(&f.tags, "tag", nil, "tag as key=value (repeatable)")
	fl.StringVar(&f.activate, "activate-at", "", "activation date (RFC 3339); before it the key is pre-active")
	fl.StringVar(&f.deactivate, "deactivate-at", "", "deactivation date (RFC 3339); from it the key only decrypts and verifies")
}

func (f *keySpecFlags) spec(name string) (api.KeySpec, error) {
	sp := api.KeySpec{Name: name, Group: f.group, Description: f.description, Ops: upper(f.ops)}
	if f.group == "" {
		return sp, fmt.Errorf("--group is required (keyward group list shows them)")
	}
	var err error
	if sp.Tags, err = parseTags(f.tags); err != nil {
		return sp, err
	}
	if sp.ActivationDate, err = parseTimeFlag("--activate-at", f.activate); err != nil {
		return sp, err
	}
	sp.DeactivationDate, err = parseTimeFlag("--deactivate-at", f.deactivate)
	return sp, err
}

func upper(xs []string) []string {
	for i := range xs {
		xs[i] = strings.ToUpper(strings.TrimSpace(xs[i]))
	}
	return xs
}

func parseTags(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	tags := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--tag %q: write key=value", kv)
		}
		tags[k] = v
	}
	return tags, nil
}

func parseTimeFlag(name, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", name, v)
	}
	return &t, nil
}

func keyRows(t *tabwriter.Writer, k *api.Key) {
	size := fmt.Sprint(k.Size)
	if k.Curve != "" {
		size = k.Curve
	}
	fields(t, "ID", k.ID, "NAME", k.Name, "GROUP", k.Group, "TYPE", k.Type, "SIZE", size, "STATE", k.State,
		"OPS", k.Ops, "KCV", k.KCV, "ORIGIN", k.Origin, "PUBLIC ONLY", k.PublicOnly, "TAGS", formatTags(k.Tags),
		"ACTIVATION", derefTime(k.ActivationDate), "DEACTIVATION", derefTime(k.DeactivationDate),
		"CREATED", k.CreatedAt, "CREATED BY", k.CreatedBy, "DESCRIPTION", k.Description)
	if c := k.Certificate; c != nil {
		fields(t, "SUBJECT", c.Subject, "ISSUER", c.Issuer, "NOT BEFORE", c.NotBefore, "NOT AFTER", c.NotAfter, "CERT KEY", c.KeyType)
	}
	if a := k.Azure; a != nil { // a virtual key: where it lives in Azure, and in what state
		fields(t, "AZURE VAULT", a.Vault, "AZURE NAME", a.KeyName, "AZURE VERSION", a.Version, "CURRENT", a.Current, "KID", a.KID,
			"KTY", a.KeyType, "PROTECTION", a.Protection, "SOURCE", a.Source, "SOURCE KEY", a.SourceKey, "AZURE STATE", a.State,
			"SCHEDULED PURGE", derefTime(a.ScheduledPurge))
	}
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func formatTags(tags map[string]string) string {
	var parts []string
	for k, v := range tags {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func newKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Security objects: keys, secrets and certificates",
		Long: `Keys live in groups. Each permits a fixed set of operations (ENCRYPT, DECRYPT, WRAPKEY,
UNWRAPKEY, SIGN, VERIFY, MACGENERATE, MACVERIFY, EXPORT, DERIVE, APPMANAGEABLE) and follows the
NIST SP 800-57 states: pre-active -> active -> deactivated / compromised -> destroyed.
Applications use keys ('keyward crypto ...'); users manage them. Commands that take ID also
take the key's name.`,
	}
	cmd.AddCommand(newKeyCreateCmd(g), newKeyImportCmd(g), newKeyExportCmd(g), newKeyListCmd(g), newKeyShowCmd(g),
		newKeyUpdateCmd(g), newKeyCopyCmd(g), newKeyRotateCmd(g), newKeyLinksCmd(g), newRotationPolicyCmd(g))
	for _, st := range []struct{ use, short string }{
		{"activate", "Activate a pre-active key now"},
		{"deactivate", "Deactivate a key: it still decrypts and verifies, never encrypts or signs again"},
		{"compromise", "Mark a key compromised (it can never be used to protect anything again)"},
		{"destroy", "Destroy a key's material for good (its metadata and audit trail stay)"},
	} {
		cmd.AddCommand(newKeyStateCmd(g, st.use, st.short))
	}
	return cmd
}

func newKeyCreateCmd(g *globals) *cobra.Command {
	var sf keySpecFlags
	var typ, curve string
	var size int
	cmd := &cobra.Command{
		Use: "create NAME", Short: "Generate a key inside Keyward", Args: exactArgs("NAME"),
		Example: `  keyward key create payments-aes --group 0193... --type AES --size 256
  keyward key create signer --group 0193... --type EC --curve P-256 --ops SIGN,VERIFY
  keyward key create kek --group 0193... --type RSA --size 3072 --ops WRAPKEY,UNWRAPKEY --tag owner=platform`,
		RunE: func(cmd *cobra.Command, args []string) error {
			sp, err := sf.spec(args[0])
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.CreateKey(cmd.Context(), api.KeyCreate{KeySpec: sp, Type: strings.ToUpper(typ), Size: size, Curve: curve})
			if err != nil {
				return err
			}
			return g.emit(k, func(t *tabwriter.Writer) { keyRows(t, k) })
		},
	}
	sf.add(cmd)
	cmd.Flags().StringVar(&typ, "type", "", "AES, RSA, EC, HMAC or SECRET")
	cmd.Flags().IntVar(&size, "size", 0, "bits: AES 128/192/256, RSA 2048/3072/4096, HMAC 128-512, SECRET")
	cmd.Flags().StringVar(&curve, "curve", "", "EC curve: P-256, P-384, P-521 or secp256k1")
	return cmd
}

func newKeyImportCmd(g *globals) *cobra.Command {
	var sf keySpecFlags
	var file, format, typ, kek, wrapAlg string
	cmd := &cobra.Command{
		Use: "import NAME", Short: "Import key material from a file (or stdin)", Args: exactArgs("NAME"),
		Long: `Import a key, secret or certificate. PEM, DER (PKCS#1, PKCS#8, SEC1, SPKI, X.509) and JWK are
recognised; raw, base64 and hex material needs --format and --type. Material wrapped by a key
already in Keyward is unwrapped inside Keyward with --kek and --wrap-alg.`,
		Example: `  keyward key import web-tls --group 0193... --file server.key
  keyward key import legacy-aes --group 0193... --file aes.hex --format hex --type AES
  keyward key import escrowed --group 0193... --file wrapped.bin --format raw --type AES --kek my-kek --wrap-alg AES-KWP`,
		RunE: func(cmd *cobra.Command, args []string) error {
			sp, err := sf.spec(args[0])
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			material, err := readInput(g, file)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.ImportKey(cmd.Context(), api.KeyImport{KeySpec: sp, Type: strings.ToUpper(typ), Format: format, Material: material, KEK: kek, WrapAlgorithm: wrapAlg})
			if err != nil {
				return err
			}
			return g.emit(k, func(t *tabwriter.Writer) { keyRows(t, k) })
		},
	}
	sf.add(cmd)
	f := cmd.Flags()
	f.StringVar(&file, "file", "-", "file to read, - for stdin")
	f.StringVar(&format, "format", "auto", "auto, raw, base64, hex, pem, der or jwk")
	f.StringVar(&typ, "type", "", "AES, HMAC or SECRET for raw/base64/hex material (checked for the others)")
	f.StringVar(&kek, "kek", "", "id or name of the Keyward key that wraps the material")
	f.StringVar(&wrapAlg, "wrap-alg", "", "AES-KW, AES-KWP, RSA-OAEP or RSA-OAEP-256 (with --kek)")
	return cmd
}

func newKeyExportCmd(g *globals) *cobra.Command {
	var format, kek, wrapAlg, out string
	cmd := &cobra.Command{
		Use: "export ID", Short: "Export a key that permits EXPORT", Args: exactArgs("ID"),
		Example: `  keyward key export signer --format pem --out signer.pem
  keyward key export payments-aes --kek partner-kek --wrap-alg RSA-OAEP-256 --out wrapped.bin`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			e, err := c.ExportKey(cmd.Context(), args[0], api.KeyExport{Format: format, KEK: kek, WrapAlgorithm: wrapAlg})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return g.emit(e, nil)
			}
			return writeOutput(g, out, e.Material)
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "pem", "pem, der, jwk, raw, base64 or hex")
	f.StringVar(&kek, "kek", "", "wrap the export with this Keyward key instead")
	f.StringVar(&wrapAlg, "wrap-alg", "", "AES-KW, AES-KWP, RSA-OAEP or RSA-OAEP-256 (with --kek)")
	f.StringVar(&out, "out", "-", "file to write, - for stdout")
	return cmd
}

func newKeyListCmd(g *globals) *cobra.Command {
	var q client.KeyQuery
	cmd := &cobra.Command{
		Use: "list", Short: "List keys", Args: noArgs,
		Example: `  keyward key list --group 0193... --state active
  keyward key list --type RSA --tag env=prod --name-prefix payments-`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			q.Type = strings.ToUpper(q.Type)
			l, err := c.ListKeys(cmd.Context(), q)
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) {
				row(t, "ID", "NAME", "TYPE", "SIZE", "STATE", "GROUP", "KCV")
				for _, k := range l.Items {
					size := fmt.Sprint(k.Size)
					if k.Curve != "" {
						size = k.Curve
					}
					row(t, k.ID, k.Name, k.Type, size, k.State, k.Group, k.KCV)
				}
				if l.Next != "" {
					fmt.Fprintf(t, "(more: --after %q)\n", l.Next)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Group, "group", "", "only this group")
	f.StringVar(&q.Type, "type", "", "AES, RSA, EC, HMAC, SECRET or CERTIFICATE")
	f.StringVar(&q.State, "state", "", "pre-active, active, deactivated, compromised or destroyed")
	f.StringVar(&q.Tag, "tag", "", "key or key=value")
	f.StringVar(&q.NamePrefix, "name-prefix", "", "names starting with this")
	f.StringVar(&q.After, "after", "", "list after this name (paging)")
	f.IntVar(&q.Limit, "limit", 0, "page size (default 100)")
	return cmd
}

func newKeyShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "show ID", Short: "Show a key", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.GetKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(k, func(t *tabwriter.Writer) { keyRows(t, k) })
		},
	}
}

func newKeyUpdateCmd(g *globals) *cobra.Command {
	var name, desc, deact string
	var tags, ops []string
	cmd := &cobra.Command{
		Use: "update ID", Short: "Change a key's name, description, tags, operations or deactivation date", Args: exactArgs("ID"),
		Example: `  keyward key update payments-aes --tag env=prod --tag owner=payments
  keyward key update signer --ops VERIFY --deactivate-at 2027-01-01T00:00:00Z`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var in api.KeyUpdate
			fl := cmd.Flags()
			if fl.Changed("name") {
				in.Name = &name
			}
			if fl.Changed("description") {
				in.Description = &desc
			}
			if fl.Changed("tag") {
				t, err := parseTags(tags)
				if err != nil {
					return usageError{cmd.CommandPath(), err}
				}
				if t == nil {
					t = map[string]string{}
				}
				in.Tags = &t
			}
			if fl.Changed("ops") {
				o := upper(ops)
				in.Ops = &o
			}
			if fl.Changed("deactivate-at") {
				d, err := parseTimeFlag("--deactivate-at", deact)
				if err != nil {
					return usageError{cmd.CommandPath(), err}
				}
				in.DeactivationDate = d
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.UpdateKey(cmd.Context(), args[0], in)
			if err != nil {
				return err
			}
			return g.emit(k, func(t *tabwriter.Writer) { keyRows(t, k) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "new name")
	f.StringVar(&desc, "description", "", "new description")
	f.StringArrayVar(&tags, "tag", nil, "the tags, as key=value (replaces all tags; repeatable)")
	f.StringSliceVar(&ops, "ops", nil, "the permitted operations (may narrow, never add EXPORT)")
	f.StringVar(&deact, "deactivate-at", "", "deactivation date (RFC 3339)")
	return cmd
}

func newKeyCopyCmd(g *globals) *cobra.Command {
	var group, name string
	cmd := &cobra.Command{
		Use: "copy ID", Short: "Copy a key that permits EXPORT into another group", Args: exactArgs("ID"),
		Long:    `The copy is a new key with the same material; both keep the link. Its name defaults to NAME_copy1, NAME_copy2, ... the first free.`,
		Example: `  keyward key copy payments-aes --group 0194...`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.CopyKey(cmd.Context(), args[0], api.KeyCopy{Group: group, Name: name})
			if err != nil {
				return err
			}
			return g.emit(k, func(t *tabwriter.Writer) { fmt.Fprintf(t, "Copied into group %s as %q (%s).\n", k.Group, k.Name, k.ID) })
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "the group (id or name) to copy into (required)")
	cmd.Flags().StringVar(&name, "name", "", "the copy's name (default NAME_copyN)")
	return cmd
}

func newKeyRotateCmd(g *globals) *cobra.Command {
	var deactivate bool
	var azureCopies []string
	cmd := &cobra.Command{
		Use: "rotate ID", Short: "Replace a key with new material; the name moves to the new key", Args: exactArgs("ID"),
		Long: `Replace a key with new material of the same type. The new key takes the name, group,
operations and tags; the old one is renamed "NAME (rotated TIME)" and keeps a link to it.

A key copied into Azure has linked Azure copies (keyward azure key copies ID). --azure-copies
rotates the chosen ones too, in the same step: each gets the new material as a new version of its
Azure key, by a job of its own (followed with keyward job watch).`,
		Example: `  keyward key rotate payments-aes --deactivate-old
  keyward key rotate signing --azure-copies all
  keyward key rotate signing --azure-copies signing_copy1,signing_copy2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			r, err := c.RotateKey(cmd.Context(), args[0], api.KeyRotate{DeactivateOld: deactivate, AzureCopies: azureCopies})
			if err != nil {
				return err
			}
			return g.emit(r, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "Rotated %q: new key %s (KCV %s).\nThe old key %s is now %q (%s).\n", r.New.Name, r.New.ID, r.New.KCV, r.Old.ID, r.Old.Name, r.Old.State)
				for _, j := range r.Jobs {
					fmt.Fprintf(t, "%s: job %s (keyward job watch %s)\n", j.Title, j.ID, j.ID)
				}
			})
		},
	}
	cmd.Flags().BoolVar(&deactivate, "deactivate-old", false, "deactivate the old key in the same call")
	cmd.Flags().StringSliceVar(&azureCopies, "azure-copies", nil, "linked Azure copies to rotate too: all, or ids/names")
	return cmd
}

func newKeyLinksCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "links ID", Short: "Show a key's copies and rotations, both ways", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.KeyLinks(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) {
				row(t, "DIRECTION", "OTHER KEY", "GROUP", "WHEN", "BY")
				for _, x := range l.Items {
					row(t, x.Direction, x.Other, x.TargetGroup, x.CreatedAt, x.CreatedBy)
				}
			})
		},
	}
}

func newKeyStateCmd(g *globals, action, short string) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use: action + " ID", Short: short, Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if action == "destroy" && !yes {
				return usageError{cmd.CommandPath(), fmt.Errorf("destroying removes the key material for good: add --yes to confirm")}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			k, err := c.SetKeyState(cmd.Context(), args[0], action)
			if err != nil {
				return err
			}
			return g.emit(k, func(t *tabwriter.Writer) { fmt.Fprintf(t, "Key %q is now %s.\n", k.Name, k.State) })
		},
	}
	if action == "destroy" {
		cmd.Flags().BoolVar(&yes, "yes", false, "confirm")
	}
	return cmd
}

// readInput reads a file, or stdin for "-".
func readInput(g *globals, path string) ([]byte, error) {
	if path == "" || path == "-" {
		return io.ReadAll(io.LimitReader(g.io.In, 16<<20))
	}
	return os.ReadFile(path)
}

// writeOutput writes to a file (mode 0600: it may be key material), or stdout for "-".
func writeOutput(g *globals, path string, b []byte) error {
	if path == "" || path == "-" {
		_, err := g.io.Out.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

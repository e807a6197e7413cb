package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
)

// azureKeyFlags are the flags every way of putting a key into Azure takes.
type azureKeyFlags struct {
	group, protection string
	ops, tags         []string
	notBefore, expiry string
	wait              bool
}

func (f *azureKeyFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.group, "group", "", "the Azure group (id or name) whose vault receives the key (required)")
	fl.StringVar(&f.protection, "protection", "", "software or hsm (default: the vault's: Standard software, Premium and Managed HSM hsm)")
	fl.StringSliceVar(&f.ops, "ops", nil, "Azure key operations: encrypt, decrypt, wrapKey, unwrapKey, sign, verify (default: all the type allows)")
	fl.StringArrayVar(&f.tags, "tag", nil, "Azure tag as key=value (repeatable; at most 14)")
	fl.StringVar(&f.notBefore, "not-before", "", "Azure activation date, nbf (RFC 3339)")
	fl.StringVar(&f.expiry, "expires", "", "Azure expiration date, exp (RFC 3339)")
	fl.BoolVar(&f.wait, "wait", false, "follow the job until it ends and show the new virtual key")
}

func (f *azureKeyFlags) options() (api.AzureKeyOptions, error) {
	o := api.AzureKeyOptions{Protection: strings.ToLower(f.protection), Ops: f.ops}
	if f.group == "" {
		return o, fmt.Errorf("--group is required: the Azure group whose vault receives the key (keyward group list shows them)")
	}
	var err error
	if o.Tags, err = parseTags(f.tags); err != nil {
		return o, err
	}
	if o.NotBefore, err = parseTimeFlag("--not-before", f.notBefore); err != nil {
		return o, err
	}
	o.Expires, err = parseTimeFlag("--expires", f.expiry)
	return o, err
}

// finishPut shows the job, or with --wait follows it and shows what it made.
func (g *globals) finishPut(ctx context.Context, c *client.Client, j *api.Job, wait bool) error {
	if !wait {
		return g.emit(j, func(t *tabwriter.Writer) {
			fmt.Fprintf(t, "%s: started as job %s.\nFollow it with: keyward job watch %s\n", j.Title, j.ID, j.ID)
		})
	}
	done, err := g.watchJob(ctx, c, j.ID, 500*time.Millisecond)
	if err != nil || g.output == "json" {
		return err
	}
	res, err := client.AzureKeyPutResult(done)
	if err != nil {
		return err
	}
	return g.emit(res, func(t *tabwriter.Writer) {
		fields(t, "KEY", res.Key, "NAME", res.Name, "AZURE NAME", res.AzureName, "VERSION", res.Version, "KID", res.KID,
			"KTY", res.KeyType, "PROTECTION", res.Protection, "BYOK", res.BYOK, "SOURCE KEY", res.SourceKey)
	})
}

// azurePutTiers is what `keyward azure key --help` says about putting keys into Azure.
const azurePutTiers = `Putting keys into Azure (create, import, copy): each command checks the request first (the
key type and protection the vault's tier allows, a free name, EXPORT on a copied key) and then
starts a job that calls Azure; --wait follows it. The new key version becomes a virtual key of
the group: its attributes and links, never its material.

What each tier takes:
  Standard vault   RSA 2048/3072/4096 and EC P-256/P-384/P-521/secp256k1, software-protected
  Premium vault    RSA and EC (not secp256k1), HSM-protected (default) or software
  Managed HSM      RSA-HSM, EC-HSM and AES 128/192/256 (oct-HSM), HSM-protected only

Software-protected imports travel as a JWK over TLS. HSM-protected imports use Azure's BYOK
transfer: Keyward creates a key-exchange key in the vault, wraps the key inside Keyward
(CKM_RSA_AES_KEY_WRAP), imports the blob and deletes the key-exchange key; a job that is
interrupted deletes it on its next attempt.`

// azurePutCmds are `keyward azure key create|import|copy`.
func azurePutCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{newAzureKeyCreateCmd(g), newAzureKeyImportCmd(g), newAzureKeyCopyCmd(g)}
}

func newAzureKeyCreateCmd(g *globals) *cobra.Command {
	var f azureKeyFlags
	var typ, curve string
	var size int
	cmd := &cobra.Command{
		Use: "create NAME", Short: "Generate a key in the vault (NAME is the Azure key name)", Args: exactArgs("NAME"),
		Long: `Have the vault generate a key. NAME is the Azure key's name (letters, digits and hyphens);
the virtual key takes the same name in Keyward.`,
		Example: `  keyward azure key create signing-2027 --group payments-kv --type RSA --size 3072 --ops sign,verify --wait
  keyward azure key create orders-ec --group payments-kv --type EC --curve P-384 --protection software
  keyward azure key create data-aes --group contoso-hsm --type AES --size 256 --expires 2027-12-31T00:00:00Z`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			if typ == "" {
				return usageError{cmd.CommandPath(), fmt.Errorf("--type is required: RSA, EC, or AES (Managed HSM only)")}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.GenerateAzureKey(cmd.Context(), f.group, api.AzureKeyGenerate{Name: args[0], Type: strings.ToUpper(typ), Size: size, Curve: curve, AzureKeyOptions: o})
			if err != nil {
				return err
			}
			return g.finishPut(cmd.Context(), c, j, f.wait)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&typ, "type", "", "RSA, EC, or AES (Managed HSM only) (required)")
	cmd.Flags().IntVar(&size, "size", 0, "RSA 2048 (default), 3072, 4096; AES 128, 192, 256 (default)")
	cmd.Flags().StringVar(&curve, "curve", "", "EC: P-256 (default), P-384, P-521, secp256k1 (Standard vaults only)")
	return cmd
}

func newAzureKeyImportCmd(g *globals) *cobra.Command {
	var f azureKeyFlags
	var file, format, typ, kek, wrapAlg string
	cmd := &cobra.Command{
		Use: "import NAME", Short: "Import key material from a file into the vault; Keyward keeps no copy", Args: exactArgs("NAME"),
		Long: `Import a private key or an AES key into the vault as NAME. PEM, DER (PKCS#1, PKCS#8, SEC1)
and JWK are recognised; raw, base64 and hex AES material needs --format and --type AES. Material
wrapped by a key already in Keyward is unwrapped inside Keyward with --kek and --wrap-alg.

The material crosses the API once. Until the job runs it is held sealed, bound to the job, and
it is deleted when the job ends: Keyward keeps only the virtual key.`,
		Example: `  keyward azure key import web-tls --group payments-kv --file server.key --wait
  keyward azure key import data-aes --group contoso-hsm --file aes.hex --format hex --type AES
  keyward azure key import escrowed --group contoso-hsm --file wrapped.bin --format raw --type AES --kek transport-kek --wrap-alg AES-KWP`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			material, err := readInput(g, file)
			if err != nil {
				return err
			}
			defer clear(material)
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.ImportAzureKey(cmd.Context(), f.group, api.AzureKeyImport{Name: args[0], Type: strings.ToUpper(typ), Format: format,
				Material: material, KEK: kek, WrapAlgorithm: wrapAlg, AzureKeyOptions: o})
			if err != nil {
				return err
			}
			return g.finishPut(cmd.Context(), c, j, f.wait)
		},
	}
	f.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&file, "file", "-", "file to read, - for stdin")
	fl.StringVar(&format, "format", "auto", "auto, raw, base64, hex, pem, der or jwk")
	fl.StringVar(&typ, "type", "", "AES for raw/base64/hex material (checked for the others)")
	fl.StringVar(&kek, "kek", "", "id or name of the Keyward key that wraps the material")
	fl.StringVar(&wrapAlg, "wrap-alg", "", "AES-KW, AES-KWP, RSA-OAEP or RSA-OAEP-256 (with --kek)")
	return cmd
}

func newAzureKeyCopyCmd(g *globals) *cobra.Command {
	var f azureKeyFlags
	var name, azureName string
	cmd := &cobra.Command{
		Use: "copy KEY", Short: "Copy a Keyward key (it must permit EXPORT) into the vault", Args: exactArgs("KEY"),
		Long: `Copy a key held by Keyward into the Azure group's vault. The key must permit EXPORT; a virtual
key cannot be copied (its material lives in Azure). The copy is named KEY_copy1, KEY_copy2, ...
(the first free) unless --name is given, and its Azure name is that name with every character
Azure does not allow made a hyphen (payments_copy1 becomes payments-copy1) unless --azure-name
is given. The source shows the copy among its links (keyward key links KEY) and the copy names
its source. Operations and tags default to the source's.`,
		Example: `  keyward azure key copy payments --group payments-kv --wait
  keyward azure key copy payments --group contoso-hsm --name payments-hsm --azure-name payments-hsm
  keyward azure key copy signer --group payments-kv --protection software --ops sign,verify`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.CopyAzureKey(cmd.Context(), f.group, api.AzureKeyCopy{Source: args[0], Name: name, AzureName: azureName, AzureKeyOptions: o})
			if err != nil {
				return err
			}
			return g.finishPut(cmd.Context(), c, j, f.wait)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&name, "name", "", "the copy's name in Keyward (default: KEY_copyN, the first free N)")
	cmd.Flags().StringVar(&azureName, "azure-name", "", "the Azure key's name (default: the copy's name, hyphens for other characters)")
	return cmd
}

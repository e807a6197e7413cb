package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/kcrypto"
)

// keyward byok: Azure's BYOK transfer files, built offline.
func init() {
	extraCommands = append(extraCommands, newBYOKCmd)
}

func newBYOKCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "byok",
		Short: "Azure Key Vault BYOK transfer files (offline)",
		Long: `Azure's "bring your own key" transfer moves a key into an HSM of Azure Key Vault Premium
or Azure Managed HSM without the key ever being in the clear outside an HSM boundary: the key
is wrapped under a key-exchange key (KEK) that the target vault created, and only that vault
can unwrap it.

In an Azure group Keyward does all of this itself (KEK, wrap, import, KEK deleted). These
commands are for air-gapped transfers and for any tool that imports a .byok file, such as
'az keyvault key import --byok-file'. See docs/byok.md.`,
	}
	cmd.AddCommand(newBYOKBuildCmd(g))
	return cmd
}

func newBYOKBuildCmd(g *globals) *cobra.Command {
	var kekFile, kekID, keyFile, format, typ, out, generator string
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Wrap a key under a vault's key-exchange key into a .byok file",
		Args:  noArgs,
		Long: `Build a .byok transfer file: the target key wrapped with CKM_RSA_AES_KEY_WRAP under the
public part of a key-exchange key (KEK) of the vault that will import it. It runs offline and
reads no Keyward server.

The KEK must be an RSA-HSM key (2048, 3072 or 4096 bits) created in the same Premium vault or
Managed HSM, with key operations exactly "import". Give its public key as PEM or DER (what
'az keyvault key download' writes), as a JWK, or as the JSON of 'az keyvault key show' (which
also carries its versioned id). --kek-id is the KEK's versioned key id,
https://{vault}/keys/{name}/{version}: Azure finds the KEK by it.

The target key is read like 'keyward key import' reads it: PEM, DER or JWK are recognised;
raw, base64 or hex AES keys need --format and --type AES. RSA 2048-4096 and EC P-256, P-384,
P-521 and secp256k1 (P-256K) go to vaults and Managed HSM; AES 128-256 only to Managed HSM.

Steps with the Azure CLI:

  1. az keyvault key create --vault-name VAULT --name kek --kty RSA-HSM --size 4096 --ops import
  2. az keyvault key show --vault-name VAULT --name kek > kek.json
  3. keyward byok build --kek-public kek.json --key signing.pem --out signing.byok
  4. az keyvault key import --vault-name VAULT --name signing --byok-file signing.byok --kty RSA
  5. az keyvault key delete --vault-name VAULT --name kek

The file holds no key in the clear, but anyone who can use the KEK can import it: keep it as
you would the key. The summary and the import command go to standard error.`,
		Example: `  keyward byok build --kek-public kek.json --key signing.pem --out signing.byok
  keyward byok build --kek-public kek.pem --kek-id https://contoso.vault.azure.net/keys/kek/6c8f... \
      --key wallet.jwk --out wallet.byok
  keyward byok build --kek-public kek.pem --kek-id https://contoso-hsm.managedhsm.azure.net/keys/kek/0b1d... \
      --key aes.hex --format hex --type AES --out aes.byok`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kekFile == "" || keyFile == "" {
				return usageError{cmd.CommandPath(), errors.New("--kek-public and --key are required")}
			}
			blob, summary, err := buildBYOK(g, kekFile, kekID, keyFile, format, typ, generator)
			if err != nil {
				return err
			}
			if err := writeOutput(g, out, blob); err != nil {
				return err
			}
			if out != "" && out != "-" {
				summary = strings.ReplaceAll(summary, "FILE", out)
			}
			_, err = fmt.Fprint(g.io.Err, summary)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&kekFile, "kek-public", "", "the KEK's public key: PEM, DER, JWK or 'az keyvault key show' JSON")
	f.StringVar(&kekID, "kek-id", "", "the KEK's versioned key id (default: the kid in the --kek-public JSON)")
	f.StringVar(&keyFile, "key", "", "the key to transfer, - for stdin")
	f.StringVar(&format, "format", "auto", "auto, raw, base64, hex, pem, der or jwk")
	f.StringVar(&typ, "type", "", "AES for raw/base64/hex material (checked for the others)")
	f.StringVar(&out, "out", "-", "the .byok file to write, - for stdout")
	f.StringVar(&generator, "generator", "", "producer named in the file, for Azure support (default Keyward and its version)")
	return cmd
}

// buildBYOK reads the KEK and the target and returns the .byok file and a summary that
// ends with the Azure CLI command importing it.
func buildBYOK(g *globals, kekFile, kekID, keyFile, format, typ, generator string) ([]byte, string, error) {
	raw, err := readInput(g, kekFile)
	if err != nil {
		return nil, "", err
	}
	kek, fileKID, err := readKEK(raw)
	if err != nil {
		return nil, "", fmt.Errorf("KEK %s: %w", kekFile, err)
	}
	defer kek.Destroy()
	switch {
	case kekID == "" && fileKID == "":
		return nil, "", errors.New("give --kek-id: the KEK's versioned key id, https://{vault}/keys/{name}/{version}")
	case kekID == "":
		kekID = fileKID
	case fileKID != "" && fileKID != kekID:
		return nil, "", fmt.Errorf("--kek-id %s differs from the kid in %s (%s)", kekID, kekFile, fileKID)
	}
	target, err := readTarget(g, keyFile, format, typ)
	if err != nil {
		return nil, "", err
	}
	defer target.Destroy()
	if generator == "" {
		generator = "Keyward " + Version
	}
	b, err := kcrypto.NewBYOK(kek, kekID, target, generator)
	if err != nil {
		return nil, "", err
	}
	blob, err := b.Marshal()
	if err != nil {
		return nil, "", err
	}
	return blob, importHint(kekID, target.Spec()), nil
}

// readKEK reads an RSA public key of a KEK, and its kid when the data is JSON that has one.
func readKEK(data []byte) (*kcrypto.Key, string, error) {
	kid := ""
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		jwk, id, err := kekJWK(t)
		if err != nil {
			return nil, "", err
		}
		data, kid = jwk, id
	}
	k, err := kcrypto.Import(data, kcrypto.ImportOptions{})
	if err != nil {
		return nil, "", err
	}
	if !k.PublicOnly() {
		// A KEK's private part never leaves its HSM; a private key here is a mistake, but
		// its public part is all that is used.
		pub, err := k.Public()
		k.Destroy()
		if err != nil {
			return nil, "", err
		}
		k = pub
	}
	if s := k.Spec(); s.Type != kcrypto.RSA {
		k.Destroy()
		return nil, "", fmt.Errorf("a KEK is an RSA-HSM key, not %s", s)
	}
	return k, kid, nil
}

// kekJWK takes the RSA members of a JWK, or of the "key" of a key bundle, and writes
// them back as a plain JWK: tools print nulls for absent members and differ in their
// base64 alphabet.
func kekJWK(data []byte) ([]byte, string, error) {
	var doc struct {
		Key json.RawMessage `json:"key"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, "", errors.New("not valid JSON")
	}
	if len(doc.Key) > 0 && doc.Key[0] == '{' {
		data = doc.Key
	}
	var m struct {
		Kid, Kty string
		N, E     *string
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, "", errors.New("not a JSON web key")
	}
	if !strings.HasPrefix(m.Kty, "RSA") || m.N == nil || m.E == nil {
		return nil, "", fmt.Errorf("a KEK is an RSA key with n and e, not kty %q", m.Kty)
	}
	n, errN := anyBase64(*m.N)
	e, errE := anyBase64(*m.E)
	if errN != nil || errE != nil {
		return nil, "", errors.New("n and e must be base64")
	}
	jwk, _ := json.Marshal(map[string]string{"kty": "RSA",
		"n": base64.RawURLEncoding.EncodeToString(n), "e": base64.RawURLEncoding.EncodeToString(e)})
	return jwk, m.Kid, nil
}

func anyBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// readTarget reads the key to transfer: a private RSA or EC key, or an AES key.
func readTarget(g *globals, file, format, typ string) (*kcrypto.Key, error) {
	data, err := readInput(g, file)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	f, err := parseFormat(format)
	if err != nil {
		return nil, err
	}
	var t kcrypto.KeyType
	if typ != "" {
		if t, err = kcrypto.ParseKeyType(typ); err != nil {
			return nil, err
		}
	}
	k, err := kcrypto.Import(data, kcrypto.ImportOptions{Format: f, Type: t})
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", file, err)
	}
	s := k.Spec()
	if k.PublicOnly() || (s.Type != kcrypto.RSA && s.Type != kcrypto.EC && s.Type != kcrypto.AES) {
		k.Destroy()
		return nil, fmt.Errorf("key %s: Azure imports private RSA and EC keys and AES keys, not %s", file, s)
	}
	return k, nil
}

func parseFormat(s string) (kcrypto.Format, error) {
	for _, f := range []kcrypto.Format{kcrypto.FormatAuto, kcrypto.FormatRaw, kcrypto.FormatBase64, kcrypto.FormatHex,
		kcrypto.FormatPEM, kcrypto.FormatDER, kcrypto.FormatJWK} {
		if strings.EqualFold(s, f.String()) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("unknown format %q: want auto, raw, base64, hex, pem, der or jwk", s)
}

// importHint says what was built and how the Azure CLI imports it.
func importHint(kekID string, s kcrypto.Spec) string {
	where, name := "--vault-name", "VAULT"
	if u, err := url.Parse(kekID); err == nil {
		host := u.Hostname()
		name, _, _ = strings.Cut(host, ".")
		if strings.Contains(host, ".managedhsm.") {
			where = "--hsm-name"
		}
	}
	// The Azure CLI appends -HSM to --kty for a BYOK file itself.
	kty, extra := "RSA", ""
	switch s.Type {
	case kcrypto.EC:
		kty = "EC"
		crv := s.Curve.String()
		if s.Curve == kcrypto.Secp256k1 {
			crv = "P-256K"
		}
		extra = " --curve " + crv
	case kcrypto.AES:
		kty = "oct"
	}
	return fmt.Sprintf("Wrote FILE: %s wrapped with CKM_RSA_AES_KEY_WRAP under %s\nImport it with:\n"+
		"  az keyvault key import %s %s --name NAME --byok-file FILE --kty %s%s\n", s, kekID, where, name, kty, extra)
}

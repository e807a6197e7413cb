package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/kcrypto"
)

// TestBYOKBuild builds transfer files with `keyward byok build` from a KEK's public key as
// the Azure CLI prints it, as PEM and as a JWK, and imports them into the emulator's
// Premium vault and Managed HSM through the Azure SDK, which unwraps them for real.
func TestBYOKBuild(t *testing.T) {
	cfg := akvemu.DevConfig()
	cfg.Timing = akvemu.TimingConfig{}
	emu, err := akvemu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; _ = emu.Close() })
	opts := azcore.ClientOptions{Transport: emu.DirectClient(ln.Addr().String())}
	cred, err := azidentity.NewClientSecretCredential(akvemu.DevTenantID, akvemu.DevClientID, akvemu.DevClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, vault := range []string{"kw-premium", "kw-hsm"} {
		uri, _ := emu.VaultURL(vault)
		kc, err := azkeys.NewClient(uri, cred, &azkeys.ClientOptions{ClientOptions: opts})
		if err != nil {
			t.Fatal(err)
		}
		kek, err := kc.CreateKey(ctx, "kek", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSAHSM), KeySize: to.Ptr(int32(3072)),
			KeyOps: []*azkeys.KeyOperation{to.Ptr(azkeys.KeyOperationImport)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		bundle, _ := json.Marshal(kek.KeyBundle) // what `az keyvault key show` prints: the kid is inside
		jwk, _ := json.Marshal(kek.Key)
		pub, err := kcrypto.Import(jwk, kcrypto.ImportOptions{Format: kcrypto.FormatJWK})
		if err != nil {
			t.Fatal(err)
		}
		kekPEM, _ := pub.Export(kcrypto.FormatPEM)
		kekID := string(*kek.Key.KID)

		cases := []struct {
			name    string
			spec    kcrypto.Spec
			format  string
			args    func(target string) []string
			kty     azkeys.KeyType
			crv     string
			hsmOnly bool
		}{
			{"rsa-from-show-json", kcrypto.Spec{Type: kcrypto.RSA, Bits: 2048}, "pem",
				func(k string) []string { return []string{"--kek-public", write(vault+"-kek.json", bundle), "--key", k} }, azkeys.KeyTypeRSAHSM, "", false},
			{"k1-from-pem", kcrypto.Spec{Type: kcrypto.EC, Curve: kcrypto.Secp256k1}, "jwk",
				func(k string) []string {
					return []string{"--kek-public", write(vault+"-kek.pem", kekPEM), "--kek-id", kekID, "--key", k}
				}, azkeys.KeyTypeECHSM, "P-256K", false},
			{"aes-hex", kcrypto.Spec{Type: kcrypto.AES, Bits: 128}, "hex",
				func(k string) []string {
					return []string{"--kek-public", write(vault+"-kek.pem", kekPEM), "--kek-id", kekID, "--key", k, "--format", "hex", "--type", "AES"}
				}, azkeys.KeyTypeOctHSM, "", true},
		}
		for _, tc := range cases {
			if tc.hsmOnly && vault != "kw-hsm" {
				continue
			}
			t.Run(vault+"/"+tc.name, func(t *testing.T) {
				target, err := kcrypto.Generate(tc.spec)
				if err != nil {
					t.Fatal(err)
				}
				var material []byte
				switch tc.format {
				case "hex":
					raw, _ := target.Export(kcrypto.FormatRaw)
					material = []byte(hex.EncodeToString(raw))
				case "jwk":
					material, _ = target.AzureJWK()
				default:
					material, _ = target.Export(kcrypto.FormatPEM)
				}
				out := filepath.Join(dir, vault+"-"+tc.name+".byok")
				var stdout, stderr bytes.Buffer
				args := append([]string{"byok", "build", "--out", out}, tc.args(write(tc.name+".key", material))...)
				if code := Main(ctx, args, IO{In: strings.NewReader(""), Out: &stdout, Err: &stderr}); code != 0 {
					t.Fatalf("keyward %v: exit %d: %s", args, code, stderr.String())
				}
				if !strings.Contains(stderr.String(), "--byok-file "+out+" --kty "+strings.TrimSuffix(string(tc.kty), "-HSM")) {
					t.Errorf("summary does not teach the import: %s", stderr.String())
				}
				blob, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				p := azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{Kty: to.Ptr(tc.kty), T: blob}}
				if tc.crv != "" {
					p.Key.Crv = to.Ptr(azkeys.CurveName(tc.crv))
				}
				got, err := kc.ImportKey(ctx, "imported-"+tc.name, p, nil)
				if err != nil {
					t.Fatalf("the emulator refused the file: %v", err)
				}
				if *got.Key.Kty != tc.kty {
					t.Errorf("imported kty %s", *got.Key.Kty)
				}
				if tc.spec.Type != kcrypto.AES {
					js, _ := json.Marshal(got.Key)
					imported, err := kcrypto.Import(js, kcrypto.ImportOptions{Format: kcrypto.FormatJWK})
					want, _ := target.Public()
					if err != nil || !imported.Equal(want) {
						t.Errorf("Azure holds another key than the one wrapped (%v)", err)
					}
				}
			})
		}
	}
}

func TestBYOKBuildRefusals(t *testing.T) {
	dir := t.TempDir()
	ec, _ := kcrypto.Generate(kcrypto.Spec{Type: kcrypto.EC, Curve: kcrypto.P256})
	ecPEM, _ := ec.Export(kcrypto.FormatPEM)
	rsa, _ := kcrypto.Generate(kcrypto.Spec{Type: kcrypto.RSA, Bits: 2048})
	rsaPub, _ := rsa.Public()
	rsaPubPEM, _ := rsaPub.Export(kcrypto.FormatPEM)
	rsaJWK, _ := rsaPub.Export(kcrypto.FormatJWK)
	shown := append([]byte(`{"attributes":{"enabled":true},"key":{"kid":"https://v.vault.azure.net/keys/kek/fedcba9876543210fedcba9876543210","d":null,`),
		rsaJWK[1:]...)
	shown = append(shown, '}')
	files := map[string][]byte{"ec.pem": ecPEM, "rsa-pub.pem": rsaPubPEM, "shown.json": shown,
		"kek.json": []byte(`{"key":{"kid":"https://v.vault.azure.net/keys/kek/0123","kty":"RSA-HSM","n":null,"e":"AQAB"}}`)}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kid := "https://v.vault.azure.net/keys/kek/0123456789abcdef0123456789abcdef"
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing flags", []string{"--key", "ec.pem"}, 2, "--kek-public and --key are required"},
		{"no kek id", []string{"--kek-public", "rsa-pub.pem", "--key", "ec.pem"}, 1, "give --kek-id"},
		{"EC KEK", []string{"--kek-public", "ec.pem", "--kek-id", kid, "--key", "ec.pem"}, 1, "a KEK is an RSA-HSM key"},
		{"unversioned kid", []string{"--kek-public", "rsa-pub.pem", "--kek-id", "https://v.vault.azure.net/keys/kek", "--key", "ec.pem"}, 1, "not a versioned key id"},
		{"public target", []string{"--kek-public", "rsa-pub.pem", "--kek-id", kid, "--key", "rsa-pub.pem"}, 1, "private RSA and EC keys and AES keys"},
		{"KEK without n", []string{"--kek-public", "kek.json", "--key", "ec.pem"}, 1, "a KEK is an RSA key with n and e"},
		{"kid mismatch", []string{"--kek-public", "shown.json", "--kek-id", kid, "--key", "ec.pem"}, 1, "differs from the kid in"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"byok", "build"}
			for _, a := range tc.args {
				if _, ok := files[a]; ok {
					a = filepath.Join(dir, a)
				}
				args = append(args, a)
			}
			var out, errw bytes.Buffer
			code := Main(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errw})
			if code != tc.code || !strings.Contains(errw.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errw.String(), tc.code, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %d bytes on failure", out.Len())
			}
		})
	}
}

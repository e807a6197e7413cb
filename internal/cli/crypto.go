package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

// Envelope is what 'keyward crypto encrypt' writes and 'decrypt' reads: the ciphertext with
// everything decrypting it needs, as JSON (binary fields in base64).
type Envelope struct {
	KeyID      string `json:"key_id"`
	Alg        string `json:"alg"`
	Ciphertext []byte `json:"ciphertext"`
	IV         []byte `json:"iv,omitempty"`
	Tag        []byte `json:"tag,omitempty"`
	AAD        []byte `json:"aad,omitempty"`
}

// ioFlags are the input and output every crypto command has.
type ioFlags struct {
	in, out  string
	inBase64 bool
}

func (f *ioFlags) add(cmd *cobra.Command, what string) {
	cmd.Flags().StringVar(&f.in, "in", "-", what+" to read, - for stdin")
	cmd.Flags().StringVar(&f.out, "out", "-", "file to write, - for stdout")
	cmd.Flags().BoolVar(&f.inBase64, "in-base64", false, "the input is base64 text, not raw bytes")
}

func (f *ioFlags) read(g *globals) ([]byte, error) {
	b, err := readInput(g, f.in)
	if err != nil || !f.inBase64 {
		return b, err
	}
	out, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, fmt.Errorf("--in-base64: the input is not base64: %w", err)
	}
	return out, nil
}

// writeText writes base64 of b and a newline (for signatures, MACs, wrapped keys) to stdout,
// or the raw bytes to a file.
func (f *ioFlags) writeText(g *globals, b []byte) error {
	if f.out == "" || f.out == "-" {
		_, err := fmt.Fprintln(g.io.Out, base64.StdEncoding.EncodeToString(b))
		return err
	}
	return writeOutput(g, f.out, b)
}

func decodeB64Flag(name, v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%s: not base64: %w", name, err)
	}
	return b, nil
}

func newCryptoCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "crypto",
		Short: "Use keys: encrypt, decrypt, sign, verify, wrap, unwrap, MAC, random (applications only)",
		Long: `Cryptographic operations, performed by applications: run these with an application's
API key as the token (KEYWARD_TOKEN=$KEYWARD_APP_KEY, or --token). Users are refused.

Binary input is read from --in (a file, or - for stdin; --in-base64 if it is base64 text).
Results that are text-friendly (signatures, MACs, wrapped keys, random bytes) are printed in
base64 on stdout, or written raw with --out FILE. 'encrypt' writes a JSON envelope that
'decrypt' reads back.`,
		Example: `  export KEYWARD_TOKEN=$KEYWARD_APP_KEY
  echo -n 'attack at dawn' | keyward crypto encrypt --key payments-aes --alg AES-GCM > msg.json
  keyward crypto decrypt --in msg.json
  keyward crypto sign --key signer --alg ECDSA-SHA256 --in contract.pdf > contract.sig
  keyward crypto verify --key signer --alg ECDSA-SHA256 --in contract.pdf --signature-file contract.sig`,
	}
	cmd.AddCommand(newEncryptCmd(g), newDecryptCmd(g), newSignCmd(g), newVerifyCmd(g), newWrapCmd(g, true),
		newWrapCmd(g, false), newMACCmd(g), newRandomCmd(g))
	return cmd
}

func newEncryptCmd(g *globals) *cobra.Command {
	var f ioFlags
	var key, alg, aad, iv string
	cmd := &cobra.Command{
		Use: "encrypt", Short: "Encrypt data; writes a JSON envelope", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pt, err := f.read(g)
			if err != nil {
				return err
			}
			ivb, err := decodeB64Flag("--iv", iv)
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Encrypt(cmd.Context(), key, api.EncryptRequest{Alg: alg, Plaintext: pt, AAD: []byte(aad), IV: ivb})
			if err != nil {
				return err
			}
			env, _ := json.MarshalIndent(Envelope{KeyID: res.KeyID, Alg: alg, Ciphertext: res.Ciphertext, IV: res.IV, Tag: res.Tag, AAD: []byte(aad)}, "", "  ")
			return writeOutput(g, f.out, append(env, '\n'))
		},
	}
	f.add(cmd, "plaintext")
	cmd.Flags().StringVar(&key, "key", "", "key id or name (required)")
	cmd.Flags().StringVar(&alg, "alg", "AES-GCM", "AES-GCM, AES-CBC, RSA-OAEP or RSA-OAEP-256")
	cmd.Flags().StringVar(&aad, "aad", "", "associated data (AES-GCM), as text")
	cmd.Flags().StringVar(&iv, "iv", "", "IV in base64 (AES-CBC only; generated when empty)")
	return cmd
}

func newDecryptCmd(g *globals) *cobra.Command {
	var f ioFlags
	cmd := &cobra.Command{
		Use: "decrypt", Short: "Decrypt a JSON envelope written by encrypt; writes the plaintext", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := f.read(g)
			if err != nil {
				return err
			}
			var env Envelope
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&env); err != nil || env.KeyID == "" {
				return fmt.Errorf("the input is not an envelope written by 'keyward crypto encrypt' (%v)", err)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.Decrypt(cmd.Context(), env.KeyID, api.DecryptRequest{Alg: env.Alg, Ciphertext: env.Ciphertext, IV: env.IV, Tag: env.Tag, AAD: env.AAD})
			if err != nil {
				return err
			}
			return writeOutput(g, f.out, res.Plaintext)
		},
	}
	f.add(cmd, "envelope")
	return cmd
}

func newSignCmd(g *globals) *cobra.Command {
	var f ioFlags
	var key, alg string
	var digest bool
	cmd := &cobra.Command{
		Use: "sign", Short: "Sign data (or a digest with --digest); prints the signature in base64", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := f.read(g)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			in := api.SignRequest{Alg: alg, Message: data}
			if digest {
				in = api.SignRequest{Alg: alg, Digest: data}
			}
			res, err := c.Sign(cmd.Context(), key, in)
			if err != nil {
				return err
			}
			return f.writeText(g, res.Signature)
		},
	}
	f.add(cmd, "message")
	cmd.Flags().StringVar(&key, "key", "", "key id or name (required)")
	cmd.Flags().StringVar(&alg, "alg", "", "PS256/384/512, RS256/384/512, ECDSA-SHA256/384/512 (DER) or ECDSA-SHA256-RAW... (r||s)")
	cmd.Flags().BoolVar(&digest, "digest", false, "the input is a digest of the algorithm's hash, not the message")
	return cmd
}

func newVerifyCmd(g *globals) *cobra.Command {
	var f ioFlags
	var key, alg, sig, sigFile string
	var digest bool
	cmd := &cobra.Command{
		Use: "verify", Short: "Verify a signature; exits 1 if it does not verify", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := f.read(g)
			if err != nil {
				return err
			}
			if sigFile != "" {
				b, err := readInput(g, sigFile)
				if err != nil {
					return err
				}
				sig = strings.TrimSpace(string(b))
			}
			sigb, err := decodeB64Flag("--signature", sig)
			if err != nil || len(sigb) == 0 {
				return usageError{cmd.CommandPath(), fmt.Errorf("give the signature in base64 with --signature or --signature-file")}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			in := api.VerifyRequest{Alg: alg, Message: data, Signature: sigb}
			if digest {
				in = api.VerifyRequest{Alg: alg, Digest: data, Signature: sigb}
			}
			res, err := c.Verify(cmd.Context(), key, in)
			if err != nil {
				return err
			}
			return validity(g, res.Valid, "signature")
		},
	}
	f.add(cmd, "message")
	cmd.Flags().StringVar(&key, "key", "", "key id or name (required)")
	cmd.Flags().StringVar(&alg, "alg", "", "the signature algorithm")
	cmd.Flags().StringVar(&sig, "signature", "", "the signature, base64")
	cmd.Flags().StringVar(&sigFile, "signature-file", "", "a file holding the signature in base64 (as sign prints it)")
	cmd.Flags().BoolVar(&digest, "digest", false, "the input is a digest, not the message")
	return cmd
}

func validity(g *globals, valid bool, what string) error {
	if g.output == "json" {
		if err := g.emit(api.VerifyResponse{Valid: valid}, nil); err != nil {
			return err
		}
	} else if valid {
		fmt.Fprintf(g.io.Out, "valid %s\n", what)
	}
	if !valid {
		return fmt.Errorf("the %s does NOT verify", what)
	}
	return nil
}

func newWrapCmd(g *globals, wrap bool) *cobra.Command {
	var f ioFlags
	var key, alg string
	use, short := "wrap", "Wrap key material; prints the wrapped key in base64"
	if !wrap {
		use, short = "unwrap", "Unwrap key material; writes the raw key"
	}
	cmd := &cobra.Command{
		Use: use, Short: short, Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := f.read(g)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if wrap {
				res, err := c.Wrap(cmd.Context(), key, api.WrapRequest{Alg: alg, Key: data})
				if err != nil {
					return err
				}
				return f.writeText(g, res.Wrapped)
			}
			res, err := c.Unwrap(cmd.Context(), key, api.UnwrapRequest{Alg: alg, Wrapped: data})
			if err != nil {
				return err
			}
			return writeOutput(g, f.out, res.Key)
		},
	}
	f.add(cmd, "key material")
	cmd.Flags().StringVar(&key, "key", "", "key id or name (required)")
	cmd.Flags().StringVar(&alg, "alg", "AES-KWP", "AES-KW, AES-KWP, RSA-OAEP or RSA-OAEP-256")
	return cmd
}

func newMACCmd(g *globals) *cobra.Command {
	var f ioFlags
	var key, alg, verify string
	cmd := &cobra.Command{
		Use: "mac", Short: "Compute an HMAC (prints it in base64), or check one with --verify", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := f.read(g)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if verify != "" {
				mac, err := decodeB64Flag("--verify", verify)
				if err != nil {
					return usageError{cmd.CommandPath(), err}
				}
				res, err := c.VerifyMAC(cmd.Context(), key, api.MACVerifyRequest{Alg: alg, Data: data, MAC: mac})
				if err != nil {
					return err
				}
				return validity(g, res.Valid, "MAC")
			}
			res, err := c.MAC(cmd.Context(), key, api.MACRequest{Alg: alg, Data: data})
			if err != nil {
				return err
			}
			return f.writeText(g, res.MAC)
		},
	}
	f.add(cmd, "message")
	cmd.Flags().StringVar(&key, "key", "", "key id or name (required)")
	cmd.Flags().StringVar(&alg, "alg", "HMAC-SHA256", "HMAC-SHA256, HMAC-SHA384 or HMAC-SHA512")
	cmd.Flags().StringVar(&verify, "verify", "", "check this MAC (base64) instead of computing one")
	return cmd
}

func newRandomCmd(g *globals) *cobra.Command {
	var f ioFlags
	var count int
	cmd := &cobra.Command{
		Use: "random", Short: "Random bytes from the server (base64 on stdout, raw with --out)", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			b, err := c.Random(cmd.Context(), count)
			if err != nil {
				return err
			}
			return f.writeText(g, b)
		},
	}
	cmd.Flags().IntVar(&count, "count", 32, "how many bytes")
	cmd.Flags().StringVar(&f.out, "out", "-", "file to write raw bytes, - for base64 on stdout")
	return cmd
}

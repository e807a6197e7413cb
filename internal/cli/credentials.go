package cli

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

func init() { extraCommands = append(extraCommands, newCredentialCmd) }

type credFlags struct {
	description, cloud, tenant, client, subscription string
	secretStdin                                      bool
	certFile, keyFile                                string
	endpoints                                        api.CloudEndpoints
}

func (f *credFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.description, "description", "", "what the credential is for")
	fl.StringVar(&f.cloud, "cloud", "public", "public, usgov, china or custom")
	fl.StringVar(&f.tenant, "tenant-id", "", "directory (tenant) id")
	fl.StringVar(&f.client, "client-id", "", "application (client) id of the app registration")
	fl.StringVar(&f.subscription, "subscription-id", "", "subscription holding the vaults")
	fl.BoolVar(&f.secretStdin, "client-secret-stdin", false, "read the client secret from standard input")
	fl.StringVar(&f.certFile, "cert", "", "PEM file of the app's certificate (instead of a secret)")
	fl.StringVar(&f.keyFile, "key", "", "PEM file of the certificate's private key")
	fl.StringVar(&f.endpoints.Authority, "authority", "", "custom cloud: Entra authority URL")
	fl.StringVar(&f.endpoints.ARM, "arm", "", "custom cloud: Resource Manager URL")
	fl.StringVar(&f.endpoints.ARMAudience, "arm-audience", "", "custom cloud: Resource Manager token audience")
	fl.StringVar(&f.endpoints.VaultSuffix, "vault-suffix", "", "custom cloud: vault DNS suffix, e.g. .vault.example")
	fl.StringVar(&f.endpoints.HSMSuffix, "hsm-suffix", "", "custom cloud: managed HSM DNS suffix")
}

func (f *credFlags) input(g *globals, name string) (api.CloudCredentialInput, error) {
	in := api.CloudCredentialInput{Name: name, Description: f.description, Cloud: f.cloud, TenantID: f.tenant, ClientID: f.client, SubscriptionID: f.subscription}
	if f.cloud == "custom" {
		in.Endpoints = &f.endpoints
	}
	if f.secretStdin {
		s, err := readPassword(g, true, "")
		if err != nil {
			return in, err
		}
		in.ClientSecret = s
	}
	if f.certFile != "" || f.keyFile != "" {
		cert, err := os.ReadFile(f.certFile)
		if err != nil {
			return in, fmt.Errorf("--cert: %w", err)
		}
		key, err := os.ReadFile(f.keyFile)
		if err != nil {
			return in, fmt.Errorf("--key: %w", err)
		}
		in.CertificatePEM, in.PrivateKeyPEM = string(cert), string(key)
	}
	return in, nil
}

func credRows(t *tabwriter.Writer, c *api.CloudCredential) {
	fields(t, "ID", c.ID, "NAME", c.Name, "CLOUD", c.Cloud, "TENANT", c.TenantID, "CLIENT", c.ClientID,
		"SUBSCRIPTION", c.SubscriptionID, "AUTH", c.AuthMethod, "DESCRIPTION", c.Description, "CREATED", c.CreatedAt, "CREATED BY", c.CreatedBy)
}

func newCredentialCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "cloud-credential",
		Aliases: []string{"cred"},
		Short:   "Azure app registrations Keyward signs in with",
		Long: `A cloud credential is an Azure app registration: its tenant, client id and subscription, and
a client secret or a certificate and its private key. The secret is sealed and never shown
again. Account administrators manage credentials; Azure groups use them.`,
	}
	var f credFlags
	create := &cobra.Command{
		Use: "create NAME", Short: "Create a cloud credential", Args: exactArgs("NAME"),
		Example: `  printf '%s' "$SECRET" | keyward cred create prod --tenant-id $T --client-id $C --subscription-id $S --client-secret-stdin
  keyward cred create gov --cloud usgov --tenant-id $T --client-id $C --subscription-id $S --cert app.pem --key app-key.pem`,
		RunE: func(cmd *cobra.Command, args []string) error {
			in, err := f.input(g, args[0])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			cr, err := c.CreateCloudCredential(cmd.Context(), in)
			if err != nil {
				return err
			}
			return g.emit(cr, func(t *tabwriter.Writer) { credRows(t, cr) })
		},
	}
	f.add(create)
	var uf credFlags
	update := &cobra.Command{
		Use: "update ID", Short: "Replace a credential's settings (and its secret, when one is given)", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			cur, err := c.GetCloudCredential(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fl := cmd.Flags()
			keep := func(flag, v, old string) string {
				if fl.Changed(flag) {
					return v
				}
				return old
			}
			uf.description = keep("description", uf.description, cur.Description)
			uf.cloud = keep("cloud", uf.cloud, cur.Cloud)
			uf.tenant = keep("tenant-id", uf.tenant, cur.TenantID)
			uf.client = keep("client-id", uf.client, cur.ClientID)
			uf.subscription = keep("subscription-id", uf.subscription, cur.SubscriptionID)
			in, err := uf.input(g, cur.Name)
			if err != nil {
				return err
			}
			cr, err := c.UpdateCloudCredential(cmd.Context(), cur.ID, in)
			if err != nil {
				return err
			}
			return g.emit(cr, func(t *tabwriter.Writer) { credRows(t, cr) })
		},
	}
	uf.add(update)
	list := &cobra.Command{
		Use: "list", Short: "List cloud credentials", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.ListCloudCredentials(cmd.Context(), "", 0)
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) {
				row(t, "ID", "NAME", "CLOUD", "TENANT", "CLIENT", "SUBSCRIPTION", "AUTH")
				for _, x := range l.Items {
					row(t, x.ID, x.Name, x.Cloud, x.TenantID, x.ClientID, x.SubscriptionID, x.AuthMethod)
				}
			})
		},
	}
	show := &cobra.Command{
		Use: "show ID", Short: "Show a cloud credential (never its secret)", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			cr, err := c.GetCloudCredential(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(cr, func(t *tabwriter.Writer) { credRows(t, cr) })
		},
	}
	del := &cobra.Command{
		Use: "delete ID", Short: "Delete a credential no Azure group uses", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteCloudCredential(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintln(g.io.Out, "Cloud credential deleted.")
			return nil
		},
	}
	var tf tlsFlags
	test := &cobra.Command{
		Use: "test ID", Short: "Sign in and list the subscription's vaults and managed HSMs", Args: exactArgs("ID"),
		Example: `  keyward cred test prod
  keyward cred test prod --proxy http://127.0.0.1:8444 --ca-file emulator-ca.pem`,
		RunE: func(cmd *cobra.Command, args []string) error {
			tls, err := tf.settings(false)
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.TestCloudCredential(cmd.Context(), args[0], api.CredentialTest{TLS: tls})
			if err != nil {
				return err
			}
			if err := g.emit(res, func(t *tabwriter.Writer) {
				if !res.Connected {
					fmt.Fprintf(t, "Not Connected: %s\n", res.Reason)
					return
				}
				fmt.Fprintf(t, "Connected. The subscription holds %d vault(s) and managed HSM(s):\n\n", len(res.Vaults))
				row(t, "KIND", "NAME", "LOCATION", "SOFT DELETE", "RETENTION", "PURGE PROTECTION")
				for _, v := range res.Vaults {
					row(t, v.Kind, v.Name, v.Location, v.SoftDelete, v.RetentionDays, v.PurgeProtection)
				}
			}); err != nil {
				return err
			}
			if !res.Connected {
				return fmt.Errorf("not connected")
			}
			return nil
		},
	}
	tf.add(test, false)
	cmd.AddCommand(create, list, show, update, del, test)
	return cmd
}

// tlsFlags are the TLS settings of the path to Azure.
type tlsFlags struct {
	caFile, certFile, keyFile, proxy string
	skipVerify                       bool
}

func (f *tlsFlags) add(cmd *cobra.Command, clientCert bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.caFile, "ca-file", "", "PEM file of the CA(s) to trust for Azure instead of the system roots")
	fl.StringVar(&f.proxy, "proxy", "", "HTTPS proxy to reach Azure through, e.g. http://proxy:3128")
	fl.BoolVar(&f.skipVerify, "skip-host-verify", false, "do not verify Azure's certificate host names (not recommended)")
	if clientCert {
		fl.StringVar(&f.certFile, "tls-cert", "", "PEM file of a TLS client certificate for the path to Azure")
		fl.StringVar(&f.keyFile, "tls-key", "", "PEM file of its private key (sealed by Keyward)")
	}
}

// settings returns the TLS settings the flags give, or nil when none was given.
func (f *tlsFlags) settings(clientCert bool) (*api.TLSSettings, error) {
	if f.caFile == "" && f.proxy == "" && !f.skipVerify && f.certFile == "" && f.keyFile == "" {
		return nil, nil
	}
	t := &api.TLSSettings{ProxyURL: f.proxy, SkipHostVerify: f.skipVerify}
	if f.caFile != "" {
		b, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		t.CACertPEM = string(b)
	}
	if clientCert && (f.certFile != "" || f.keyFile != "") {
		cert, err := os.ReadFile(f.certFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert: %w", err)
		}
		key, err := os.ReadFile(f.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-key: %w", err)
		}
		t.ClientCertPEM, t.ClientKeyPEM = string(cert), string(key)
	}
	return t, nil
}

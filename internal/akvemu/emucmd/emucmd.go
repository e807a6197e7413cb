// Package emucmd is the `keyward azure-emulator` command: it runs the Azure emulator of
// package akvemu on one port, as HTTPS at Azure's host names and as an HTTP CONNECT proxy.
package emucmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/akvemu"
)

// Options are the command's flags.
type Options struct {
	// Listen is the TCP address to serve on.
	Listen string
	// ConfigPath is a YAML or JSON akvemu.Config; empty runs akvemu.DevConfig.
	ConfigPath string
	// StatePath keeps state across restarts (akvemu.Config.StatePath).
	StatePath string
	// CAOut is where the CA certificate is written as PEM; empty writes nothing.
	CAOut string
	// Latency, Jitter, Seed and Faults set chaos (see akvemu.ChaosConfig). A fault is
	// "OPERATION:KIND:RATE[:VAULT]", e.g. "GetKey:503:0.05" or "*:reset:0.01:kw-premium".
	Latency, Jitter time.Duration
	Seed            uint64
	Faults          []string
	// NoThrottle turns Azure's throttling off; ThrottleWindow shortens its window.
	NoThrottle     bool
	ThrottleWindow time.Duration
	// Timing overrides the configuration's delays when set (nil leaves them).
	DeleteDelay, RecoverDelay, PurgeDelay, Retention *time.Duration
	// Verbose logs the emulator's diagnostics to standard error.
	Verbose bool
}

// New returns the azure-emulator command, writing its banner to out and diagnostics to
// errw. Register it with the root command: root.AddCommand(emucmd.New(out, errw)).
func New(out, errw io.Writer) *cobra.Command {
	var o Options
	// The timing flags override the configuration only when given.
	timing := []struct {
		name, usage string
		val         time.Duration
		dst         **time.Duration
	}{
		{"delete-delay", "how long a key delete takes to complete", 0, &o.DeleteDelay},
		{"recover-delay", "how long a key recover takes to complete", 0, &o.RecoverDelay},
		{"purge-delay", "how long a purged name stays reserved", 0, &o.PurgeDelay},
		{"retention", "purge soft-deleted keys after this instead of the vault's retention days", 0, &o.Retention},
	}
	cmd := &cobra.Command{
		Use:   "azure-emulator",
		Short: "Run the Azure Key Vault / Managed HSM emulator",
		Long: `Run Keyward's emulator of Microsoft Entra (client credentials), Azure Resource Manager
(vault and managed HSM discovery) and the Key Vault / Managed HSM keys API, at Azure's real
host names. One port serves HTTPS (any client that resolves the names to it) and HTTP
CONNECT (any client with HTTPS_PROXY pointing at it); both present certificates from the
emulator's own CA, which clients must trust (--ca-out writes it).

Without --config it runs a development world: one tenant, one app with a secret, and a
Standard vault, a Premium vault and a Managed HSM (the banner prints the identifiers).
The admin API (stats, chaos, runtime changes) is under /_emulator/ on the same port, also
over plain HTTP. See docs/azure-emulator.md.`,
		Example: `  keyward azure-emulator --ca-out /tmp/akvemu-ca.pem
  curl --proxy http://127.0.0.1:8444 --cacert /tmp/akvemu-ca.pem https://login.microsoftonline.com/` + akvemu.DevTenantID + `/v2.0/.well-known/openid-configuration
  keyward azure-emulator --config emu.yaml --state emu-state.json --latency 40ms --fault 'GetKey:503:0.05'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for i := range timing {
				if cmd.Flags().Changed(timing[i].name) {
					*timing[i].dst = &timing[i].val
				}
			}
			return Run(cmd.Context(), o, out, errw)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Listen, "listen", "127.0.0.1:8444", "TCP address to serve HTTPS and HTTP CONNECT on")
	fl.StringVar(&o.ConfigPath, "config", "", "YAML or JSON configuration (default: the development world)")
	fl.StringVar(&o.StatePath, "state", "", "file that keeps CA, keys and vaults across restarts (mode 0600)")
	fl.StringVar(&o.CAOut, "ca-out", "", "write the CA certificate (PEM) to this file")
	fl.DurationVar(&o.Latency, "latency", 0, "latency added to every request")
	fl.DurationVar(&o.Jitter, "jitter", 0, "random extra latency, uniform in [0, jitter)")
	fl.Uint64Var(&o.Seed, "seed", 0, "seed of the random choices, so that a run repeats")
	fl.StringArrayVar(&o.Faults, "fault", nil, "fault rule OPERATION:KIND:RATE[:VAULT], KIND 500|503|429|timeout|reset (repeatable)")
	fl.BoolVar(&o.NoThrottle, "no-throttle", false, "turn Azure's throttling off")
	fl.DurationVar(&o.ThrottleWindow, "throttle-window", 0, "throttling window (default Azure's 10s)")
	for i := range timing {
		fl.DurationVar(&timing[i].val, timing[i].name, 0, timing[i].usage)
	}
	fl.BoolVarP(&o.Verbose, "verbose", "v", false, "log diagnostics (TLS handshakes, state saves) to standard error")
	return cmd
}

// Run starts the emulator and serves until ctx is cancelled.
func Run(ctx context.Context, o Options, out, errw io.Writer) error {
	cfg, dev, err := o.config()
	if err != nil {
		return err
	}
	emu, err := akvemu.New(cfg)
	if err != nil {
		return err
	}
	defer emu.Close()
	if o.Verbose {
		emu.SetLogger(slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	if o.CAOut != "" {
		if err := os.WriteFile(o.CAOut, emu.CACertPEM(), 0o644); err != nil {
			return fmt.Errorf("write ca: %w", err)
		}
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	printBanner(out, emu, ln.Addr().String(), o.CAOut, dev)
	if err := emu.Serve(ctx, ln); err != nil {
		return err
	}
	return emu.Close()
}

// config builds the emulator configuration from the file (or the development world) and
// the flags.
func (o Options) config() (akvemu.Config, bool, error) {
	cfg, dev := akvemu.DevConfig(), true
	if o.ConfigPath != "" {
		var err error
		if cfg, err = akvemu.LoadConfig(o.ConfigPath); err != nil {
			return cfg, false, err
		}
		dev = false
	}
	if o.StatePath != "" {
		cfg.StatePath = o.StatePath
	}
	if o.Latency != 0 || o.Jitter != 0 || o.Seed != 0 {
		cfg.Chaos.Latency, cfg.Chaos.Jitter, cfg.Chaos.Seed = akvemu.Duration(o.Latency), akvemu.Duration(o.Jitter), o.Seed
	}
	for _, f := range o.Faults {
		rule, err := parseFault(f)
		if err != nil {
			return cfg, dev, err
		}
		cfg.Chaos.Faults = append(cfg.Chaos.Faults, rule)
	}
	if o.NoThrottle {
		cfg.Throttle.Disabled = true
	}
	if o.ThrottleWindow != 0 {
		cfg.Throttle.Window = akvemu.Duration(o.ThrottleWindow)
	}
	for _, p := range []struct {
		src *time.Duration
		dst *akvemu.Duration
	}{{o.DeleteDelay, &cfg.Timing.DeleteDelay}, {o.RecoverDelay, &cfg.Timing.RecoverDelay},
		{o.PurgeDelay, &cfg.Timing.PurgeDelay}, {o.Retention, &cfg.Timing.Retention}} {
		if p.src != nil {
			*p.dst = akvemu.Duration(*p.src)
		}
	}
	return cfg, dev, cfg.Validate()
}

// parseFault reads OPERATION:KIND:RATE[:VAULT].
func parseFault(s string) (akvemu.FaultRule, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 || len(parts) > 4 {
		return akvemu.FaultRule{}, fmt.Errorf("fault %q: want OPERATION:KIND:RATE[:VAULT]", s)
	}
	rate, err := strconv.ParseFloat(parts[2], 64)
	if err != nil {
		return akvemu.FaultRule{}, fmt.Errorf("fault %q: rate: %w", s, err)
	}
	r := akvemu.FaultRule{Operation: parts[0], Kind: parts[1], Rate: rate}
	if len(parts) == 4 {
		r.Vault = parts[3]
	}
	if r.Operation == "" {
		return r, errors.New("fault " + strconv.Quote(s) + ": empty operation (use * for all)")
	}
	return r, nil
}

func printBanner(w io.Writer, emu *akvemu.Emulator, addr, caOut string, dev bool) {
	fmt.Fprintf(w, "Azure emulator on %s: HTTPS at Azure's host names, and an HTTP CONNECT proxy.\n", addr)
	if caOut != "" {
		fmt.Fprintf(w, "CA certificate: %s (also http://%s/_emulator/ca.pem)\n", caOut, addr)
	} else {
		fmt.Fprintf(w, "CA certificate: http://%s/_emulator/ca.pem (or use --ca-out)\n", addr)
	}
	fmt.Fprintln(w)
	if dev {
		fmt.Fprintf(w, "Development world:\n  tenant        %s\n  client id     %s\n  client secret %s\n  subscription  %s\n",
			akvemu.DevTenantID, akvemu.DevClientID, akvemu.DevClientSecret, akvemu.DevSubscriptionID)
	}
	for _, v := range emu.Vaults() {
		fmt.Fprintf(w, "  %-10s %-11s %s\n", v.Kind, v.SKU, v.URI)
	}
	ca := caOut
	if ca == "" {
		ca = "<ca.pem>"
	}
	fmt.Fprintf(w, `
Point a client at it:
  export HTTPS_PROXY=http://%s
  export SSL_CERT_FILE=%s        # Go programs, OpenSSL
  export CURL_CA_BUNDLE=%s       # curl
  export REQUESTS_CA_BUNDLE=%s   # Python requests, az CLI
Admin API: http://%s/_emulator/stats
`, addr, ca, ca, ca, addr)
}

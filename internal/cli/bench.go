package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/internal/bench"
)

func newBenchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a running Keyward server, beside baselines measured in the same run",
	}
	cmd.AddCommand(newBenchCryptoCmd(g), newBenchSyncCmd(g), &cobra.Command{
		Use: "baseline-server", Hidden: true, Args: noArgs,
		Short: "Serve the benchmark's trivial HTTPS handler (started by keyward bench)",
		RunE:  func(cmd *cobra.Command, _ []string) error { return bench.BaselineServer(cmd.Context(), g.io.Out) },
	})
	return cmd
}

func newBenchCryptoCmd(g *globals) *cobra.Command {
	var ops []string
	var conc []int
	var dur, warm, raw time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "crypto",
		Short: "Drive the cryptographic API over HTTPS and compare it with a trivial HTTPS handler",
		Long: `Runs each operation against the server for --duration at each --concurrency, with an
application's API key, exactly as a client would (HTTPS, JSON, the Go client). In the same run
it measures:

  baseline  a trivial HTTPS handler answering 64 bytes, in a process of its own like Keyward,
            driven by the same kind of client at the same concurrency (what HTTPS between two
            processes costs here);
  raw       the primitive run in process from GOMAXPROCS goroutines (what the math costs).

and prints each operation's rate as a ratio to both. Audit stays on: every operation is
recorded. The benchmark creates one key per operation in the application's first group.`,
		Example: `  keyward bench crypto --token "$KEYWARD_APP_KEY"
  keyward bench crypto --ops aes-gcm-encrypt --concurrency 1,16 --duration 10s --json > bench.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			rep, err := bench.Crypto(cmd.Context(), c, bench.CryptoOptions{Ops: ops, Concurrency: conc, Duration: dur, Warmup: warm, RawDuration: raw,
				Progress: func(s string) { fmt.Fprintf(g.io.Err, "measuring %s ...\n", s) }})
			if err != nil {
				return err
			}
			if asJSON || g.output == "json" {
				enc := json.NewEncoder(g.io.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			t := tabwriter.NewWriter(g.io.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(t, "operation\tconc\tops/s\tp50\tp99\terrors\tbaseline ops/s\tvs baseline\traw ops/s\tvs raw\t\n")
			for _, r := range rep.Rows {
				fmt.Fprintf(t, "%s\t%d\t%.0f\t%s\t%s\t%d\t%.0f\t%.2f\t%.0f\t%.3f\t\n", r.Op.Name, r.Op.Concurrency, r.Op.OpsPerSec,
					r.Op.P50.Round(time.Microsecond), r.Op.P99.Round(time.Microsecond), r.Op.Errors, r.Baseline.OpsPerSec, r.VsBaseline, r.RawOpsPerSec, r.VsRaw)
			}
			if err := t.Flush(); err != nil {
				return err
			}
			for _, r := range rep.Rows {
				if r.Op.Errors > 0 {
					return fmt.Errorf("%s had %d errors; the first: %s", r.Op.Name, r.Op.Errors, r.Op.FirstError)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&ops, "ops", nil, "operations to run (default all): aes-gcm-encrypt, ecdsa-p256-sign, rsa-2048-sign, hmac")
	f.IntSliceVar(&conc, "concurrency", []int{16}, "concurrent clients; a list runs each")
	f.DurationVar(&dur, "duration", 10*time.Second, "measured time per operation and concurrency")
	f.DurationVar(&warm, "warmup", 2*time.Second, "unmeasured time before each measurement")
	f.DurationVar(&raw, "raw-duration", 3*time.Second, "time for each in-process primitive measurement")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func newBenchSyncCmd(g *globals) *cobra.Command {
	o := bench.SyncOptions{}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Time syncing a large Azure vault, against the least time Azure's limits allow",
		Long: `Starts the Azure Key Vault emulator in this process with Azure's throttling (4,000
requests per vault per 10 s for software RSA-2048 keys) and --latency added to every request,
fills a vault with --keys keys of --versions versions each, starts a fresh Keyward in this
process linked to it through the emulator's proxy, and times:

  first  the first sync: every version becomes a virtual key and every key is escrowed;
  again  a second sync of the unchanged vault, which should only list.

Each run reports the requests Azure answered, the least time Azure allows for them (its limits:
full windows plus one round trip; and the listing's pages, which come one after another), and
the ratio of the two. Nothing needs to be running; the command leaves nothing behind.`,
		Example: `  keyward bench sync
  keyward bench sync --keys 500 --versions 3 --latency 50ms -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Keys < 1 || o.Versions < 1 {
				return fmt.Errorf("--keys and --versions must be at least 1")
			}
			rep, err := bench.Sync(cmd.Context(), bench.SyncOptions{Keys: o.Keys, Versions: o.Versions, Latency: o.Latency, Window: o.Window,
				Progress: func(s string) { fmt.Fprintf(g.io.Err, "%s\n", s) }})
			if err != nil {
				return err
			}
			if asJSON || g.output == "json" {
				enc := json.NewEncoder(g.io.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			t := tabwriter.NewWriter(g.io.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(t, "sync\tseconds\trequests\tper-key requests\t429s\tbound s\tvs bound\tversions added\tescrowed\tstate\t\n")
			for _, r := range []struct {
				name string
				run  bench.SyncRun
			}{{"first", rep.First}, {"again", rep.Again}} {
				fmt.Fprintf(t, "%s\t%.1f\t%d\t%d\t%d\t%.1f\t%.2f\t%d\t%d\t%s\t\n", r.name, r.run.Seconds, r.run.Total, r.run.PerKeyCalls,
					r.run.Throttled, r.run.BoundSeconds, r.run.VsBound, r.run.VersionsAdded, r.run.Escrowed, r.run.JobState)
			}
			if err := t.Flush(); err != nil {
				return err
			}
			for _, r := range []bench.SyncRun{rep.First, rep.Again} {
				if r.JobState != "succeeded" {
					return fmt.Errorf("a sync ended %s: %s", r.JobState, r.JobError)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Keys, "keys", 2000, "keys in the vault")
	f.IntVar(&o.Versions, "versions", 2, "versions of each key")
	f.DurationVar(&o.Latency, "latency", 20*time.Millisecond, "latency added to every Azure request")
	f.DurationVar(&o.Window, "window", 10*time.Second, "Azure's throttling window")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON (same as -o json)")
	return cmd
}

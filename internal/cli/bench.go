package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
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
	var rounds int
	var asJSON bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "crypto",
		Short: "Drive the cryptographic API over HTTPS and compare it with a trivial HTTPS handler",
		Long: `Runs each operation against the server for --duration at each --concurrency, with an
application's API key, exactly as a client would (HTTPS, JSON, the Go client). In the same run
it measures:

  baseline  a trivial HTTPS handler answering 64 bytes, in a process of its own like Keyward,
            driven by the same kind of client at the same concurrency (what HTTPS between two
            processes costs here);
  ceiling   the same trivial server also running the operation's primitive on the request,
            with a key of its own and nothing else: no authentication, policy, audit or
            JSON (the most any HTTPS server doing this operation can reach here);
  raw       the primitive run in process from GOMAXPROCS goroutines (what the math costs).

and prints each operation's rate as a ratio to them: "vs ceiling" is what Keyward's own work
costs, "ceiling/base" what the primitive itself costs over HTTPS. Keyward, the baseline and
the ceiling take turns in --rounds, so that other load on the machine falls on all three
alike. Audit stays on: every operation is recorded. The benchmark creates one key per
operation in the application's first group.`,
		Example: `  keyward bench crypto --token "$KEYWARD_APP_KEY"
  keyward bench crypto --ops aes-gcm-encrypt --concurrency 1,16 --duration 10s --json > bench.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rounds < 1 {
				return fmt.Errorf("--rounds: must be at least 1, not %d", rounds)
			}
			if dur < time.Duration(rounds)*100*time.Millisecond {
				return fmt.Errorf("--duration: %s is too short for %d rounds; give each round at least 100ms", dur, rounds)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			rep, err := bench.Crypto(cmd.Context(), c, bench.CryptoOptions{Ops: ops, Concurrency: conc, Duration: dur, Warmup: warm, Rounds: rounds, RawDuration: raw,
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
			fmt.Fprintf(t, "operation\tconc\tops/s\tp50\tp99\terrors\tbaseline ops/s\tceiling ops/s\traw ops/s\tvs baseline\tvs ceiling\tceiling/base\tvs raw\t\n")
			for _, r := range rep.Rows {
				fmt.Fprintf(t, "%s\t%d\t%.0f\t%s\t%s\t%d\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.3f\t\n", r.Op.Name, r.Op.Concurrency, r.Op.OpsPerSec,
					r.Op.P50.Round(time.Microsecond), r.Op.P99.Round(time.Microsecond), r.Op.Errors, r.Baseline.OpsPerSec, r.Ceiling.OpsPerSec,
					r.RawOpsPerSec, r.VsBaseline, r.VsCeiling, r.CeilingVsB, r.VsRaw)
			}
			if err := t.Flush(); err != nil {
				return err
			}
			for _, r := range rep.Rows {
				for _, res := range []bench.Result{r.Op, r.Baseline, r.Ceiling} {
					if res.Errors > 0 {
						return fmt.Errorf("%s (%s) had %d errors; the first: %s", r.Op.Name, res.Name, res.Errors, res.FirstError)
					}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&ops, "ops", nil, "operations to run (default all): aes-gcm-encrypt, ecdsa-p256-sign, rsa-2048-sign, hmac")
	f.IntSliceVar(&conc, "concurrency", []int{16}, "concurrent clients; a list runs each")
	f.DurationVar(&dur, "duration", 10*time.Second, "measured time per operation, concurrency and target (Keyward, baseline, ceiling), over all rounds")
	f.DurationVar(&warm, "warmup", 2*time.Second, "unmeasured time before the first round of each measurement (later rounds get a quarter)")
	f.IntVar(&rounds, "rounds", 5, "how many times Keyward, the baseline and the ceiling take turns")
	f.DurationVar(&raw, "raw-duration", 3*time.Second, "time for each in-process primitive measurement")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write the client's CPU profile to this file; samples carry a phase label (keyward, baseline), e.g. go tool pprof -tagfocus phase=keyward")
	return cmd
}

// startCPUProfile profiles this process into path until the returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
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

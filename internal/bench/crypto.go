package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/kcrypto"
)

// CryptoOp is one operation the crypto benchmark knows.
type CryptoOp struct {
	Name string
	Key  api.KeyCreate
	Spec kcrypto.Spec // Key, for the in-process primitive and the ceiling server
	Alg  kcrypto.Algorithm
	// call makes one request to Keyward; primitive runs the operation in process on in.
	call      func(ctx context.Context, c *client.Client, keyID string) error
	primitive func(k *kcrypto.Key, in []byte) ([]byte, error)
}

var payload64 = make([]byte, 64)

// CryptoOps are the operations of `keyward bench crypto`.
var CryptoOps = []CryptoOp{
	{Name: "aes-gcm-encrypt", Key: api.KeyCreate{Type: "AES", Size: 256, KeySpec: api.KeySpec{Ops: []string{"ENCRYPT", "DECRYPT"}}},
		Spec: kcrypto.Spec{Type: kcrypto.AES, Bits: 256}, Alg: kcrypto.AESGCM,
		call: func(ctx context.Context, c *client.Client, id string) error {
			_, err := c.Encrypt(ctx, id, api.EncryptRequest{Alg: "AES-GCM", Plaintext: payload64})
			return err
		},
		primitive: func(k *kcrypto.Key, in []byte) ([]byte, error) {
			ct, err := k.Encrypt(kcrypto.AESGCM, in, kcrypto.CipherOpts{})
			return ct.Data, err
		}},
	{Name: "ecdsa-p256-sign", Key: api.KeyCreate{Type: "EC", Curve: "P-256", KeySpec: api.KeySpec{Ops: []string{"SIGN", "VERIFY"}}},
		Spec: kcrypto.Spec{Type: kcrypto.EC, Curve: kcrypto.P256}, Alg: kcrypto.ECDSASHA256,
		call: func(ctx context.Context, c *client.Client, id string) error {
			_, err := c.Sign(ctx, id, api.SignRequest{Alg: "ECDSA-SHA256", Message: payload64})
			return err
		},
		primitive: func(k *kcrypto.Key, in []byte) ([]byte, error) { return k.Sign(kcrypto.ECDSASHA256, in) }},
	{Name: "rsa-2048-sign", Key: api.KeyCreate{Type: "RSA", Size: 2048, KeySpec: api.KeySpec{Ops: []string{"SIGN", "VERIFY"}}},
		Spec: kcrypto.Spec{Type: kcrypto.RSA, Bits: 2048}, Alg: kcrypto.PS256,
		call: func(ctx context.Context, c *client.Client, id string) error {
			_, err := c.Sign(ctx, id, api.SignRequest{Alg: "PS256", Message: payload64})
			return err
		},
		primitive: func(k *kcrypto.Key, in []byte) ([]byte, error) { return k.Sign(kcrypto.PS256, in) }},
	{Name: "hmac", Key: api.KeyCreate{Type: "HMAC", Size: 256, KeySpec: api.KeySpec{Ops: []string{"MACGENERATE", "MACVERIFY"}}},
		Spec: kcrypto.Spec{Type: kcrypto.HMAC, Bits: 256}, Alg: kcrypto.HMACSHA256,
		call: func(ctx context.Context, c *client.Client, id string) error {
			_, err := c.MAC(ctx, id, api.MACRequest{Alg: "HMAC-SHA256", Data: payload64})
			return err
		},
		primitive: func(k *kcrypto.Key, in []byte) ([]byte, error) { return k.MAC(kcrypto.HMACSHA256, in) }},
}

// cryptoOp finds an operation by name.
func cryptoOp(name string) (CryptoOp, bool) {
	for _, op := range CryptoOps {
		if op.Name == name {
			return op, true
		}
	}
	return CryptoOp{}, false
}

// CryptoOptions configure a crypto benchmark.
type CryptoOptions struct {
	Ops         []string // names from CryptoOps; empty for all
	Concurrency []int
	Duration    time.Duration // measured time per operation, concurrency and target, over all rounds
	Warmup      time.Duration // unmeasured time before the first round (later rounds get a quarter)
	Rounds      int           // Keyward, baseline and ceiling take turns this many times
	RawDuration time.Duration
	Progress    func(string) // called before each measurement
}

// CryptoRow is one operation at one concurrency, with its references.
type CryptoRow struct {
	Op           Result  `json:"op"`
	Baseline     Result  `json:"baseline"`
	Ceiling      Result  `json:"ceiling"`         // the trivial handler also running the primitive
	RawOpsPerSec float64 `json:"raw_ops_per_sec"` // the primitive in process, GOMAXPROCS goroutines
	VsBaseline   float64 `json:"vs_baseline"`     // Op.OpsPerSec / Baseline.OpsPerSec
	VsCeiling    float64 `json:"vs_ceiling"`      // Op.OpsPerSec / Ceiling.OpsPerSec
	CeilingVsB   float64 `json:"ceiling_vs_baseline"`
	VsRaw        float64 `json:"vs_raw"` // Op.OpsPerSec / RawOpsPerSec
}

// CryptoReport is the whole run.
type CryptoReport struct {
	Server      string      `json:"server"`
	GOMAXPROCS  int         `json:"gomaxprocs"`
	Duration    float64     `json:"duration_seconds"`
	Rounds      int         `json:"rounds"`
	Rows        []CryptoRow `json:"rows"`
	GeneratedAt time.Time   `json:"generated_at"`
}

// Crypto runs the benchmark with c, an application's client. It creates one key per
// operation in the application's first group.
//
// Keyward, the baseline and the ceiling take turns in rounds rather than running one after
// the other, so that a change in what else the machine is doing (on a shared machine, it
// does) falls on all three alike instead of on whichever ran at the time.
func Crypto(ctx context.Context, c *client.Client, o CryptoOptions) (*CryptoReport, error) {
	group, err := appGroup(ctx, c)
	if err != nil {
		return nil, err
	}
	base, err := StartBaselineProcess(ctx)
	if err != nil {
		return nil, err
	}
	defer base.Close()
	o.Rounds = max(o.Rounds, 1)
	rep := &CryptoReport{Server: c.Addr(), GOMAXPROCS: runtime.GOMAXPROCS(0), Duration: o.Duration.Seconds(), Rounds: o.Rounds, GeneratedAt: time.Now().UTC()}
	suffix := time.Now().UTC().Format("20060102T150405.000")
	for _, op := range CryptoOps {
		if len(o.Ops) > 0 && !slices.Contains(o.Ops, op.Name) {
			continue
		}
		spec := op.Key
		spec.Name, spec.Group = "bench-"+op.Name+"-"+suffix, group
		key, err := c.CreateKey(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("create the %s key: %w", op.Name, err)
		}
		raw, err := rawRate(op, o.RawDuration)
		if err != nil {
			return nil, err
		}
		body, _ := json.Marshal(api.EncryptRequest{Alg: op.Alg.String(), Plaintext: payload64})
		targets := []struct {
			phase string
			call  func(ctx context.Context) error
		}{
			{"keyward", func(ctx context.Context) error { return op.call(ctx, c, key.ID) }},
			{"baseline", func(ctx context.Context) error { return base.Call(ctx, body) }},
			{"ceiling", func(ctx context.Context) error { return base.Ceiling(ctx, op.Name, payload64) }},
		}
		for _, conc := range o.Concurrency {
			res := make([]Result, len(targets))
			for round := range o.Rounds {
				warm := o.Warmup
				if round > 0 {
					warm /= 4
				}
				for i, t := range targets {
					progress(o, fmt.Sprintf("%s: %s at concurrency %d, round %d of %d", op.Name, t.phase, conc, round+1, o.Rounds))
					// Labels let a client profile (--cpuprofile) tell the phases apart.
					pprof.Do(ctx, pprof.Labels("phase", t.phase, "op", op.Name), func(ctx context.Context) {
						r := Load(ctx, t.phase, conc, warm, o.Duration/time.Duration(o.Rounds), t.call)
						res[i] = res[i].Merge(r)
					})
				}
			}
			res[0].Name = op.Name
			row := CryptoRow{Op: res[0], Baseline: res[1], Ceiling: res[2], RawOpsPerSec: raw,
				VsBaseline: ratio(res[0].OpsPerSec, res[1].OpsPerSec), VsCeiling: ratio(res[0].OpsPerSec, res[2].OpsPerSec),
				CeilingVsB: ratio(res[2].OpsPerSec, res[1].OpsPerSec), VsRaw: ratio(res[0].OpsPerSec, raw)}
			rep.Rows = append(rep.Rows, row)
		}
	}
	return rep, nil
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func progress(o CryptoOptions, s string) {
	if o.Progress != nil {
		o.Progress(s)
	}
}

// rawRate runs the primitive in this process from GOMAXPROCS goroutines.
func rawRate(op CryptoOp, d time.Duration) (float64, error) {
	k, err := kcrypto.Generate(op.Spec)
	if err != nil {
		return 0, err
	}
	r := Load(context.Background(), "raw", runtime.GOMAXPROCS(0), d/4, d, func(context.Context) error {
		_, err := op.primitive(k, payload64)
		return err
	})
	return r.OpsPerSec, nil
}

// appGroup is the first group of the application c authenticates as.
func appGroup(ctx context.Context, c *client.Client) (string, error) {
	s, err := c.Session(ctx)
	if err != nil {
		return "", err
	}
	if s.Kind != "app" {
		return "", fmt.Errorf("run the benchmark as an application: use its API key as the token (KEYWARD_TOKEN=$KEYWARD_APP_KEY); you are a %s", s.Kind)
	}
	a, err := c.GetApp(ctx, s.ID)
	if err != nil {
		return "", err
	}
	if len(a.Groups) == 0 {
		return "", fmt.Errorf("application %q is in no group: add it to one", a.Name)
	}
	return a.Groups[0], nil
}

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
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
	Alg  kcrypto.Algorithm
	// call makes one request; raw runs the primitive in process.
	call func(ctx context.Context, c *client.Client, keyID string) error
	raw  func(k *kcrypto.Key) error
}

var payload64 = make([]byte, 64)

// CryptoOps are the operations of `keyward bench crypto`.
var CryptoOps = []CryptoOp{
	{Name: "aes-gcm-encrypt", Key: api.KeyCreate{Type: "AES", Size: 256, KeySpec: api.KeySpec{Ops: []string{"ENCRYPT", "DECRYPT"}}}, Alg: kcrypto.AESGCM,
		call: func(ctx context.Context, c *client.Client, id string) error {
			_, err := c.Encrypt(ctx, id, api.EncryptRequest{Alg: "AES-GCM", Plaintext: payload64})
			return err
		},
		raw: func(k *kcrypto.Key) error {
			_, err := k.Encrypt(kcrypto.AESGCM, payload64, kcrypto.CipherOpts{})
			return err
		}},
	{Name: "ecdsa-p256-sign", Key: api.KeyCreate{Type: "EC", Curve: "P-256", KeySpec: api.KeySpec{Ops: []string{"SIGN", "VERIFY"}}}, Alg: kcrypto.ECDSASHA256,
		call: func(ctx context.Context, c *client.Client, id string) error {
			_, err := c.Sign(ctx, id, api.SignRequest{Alg: "ECDSA-SHA256", Message: payload64})
			return err
		},
		raw: func(k *kcrypto.Key) error { _, err := k.Sign(kcrypto.ECDSASHA256, payload64); return err }},
	{Name: "rsa-2048-sign", Key: api.KeyCreate{Type: "RSA", Size: 2048, KeySpec: api.KeySpec{Ops: []string{"SIGN", "VERIFY"}}}, Alg: kcrypto.PS256,
		call: func(ctx context.Context, c *client.Client, id string) error {
			_, err := c.Sign(ctx, id, api.SignRequest{Alg: "PS256", Message: payload64})
			return err
		},
		raw: func(k *kcrypto.Key) error { _, err := k.Sign(kcrypto.PS256, payload64); return err }},
	{Name: "hmac", Key: api.KeyCreate{Type: "HMAC", Size: 256, KeySpec: api.KeySpec{Ops: []string{"MACGENERATE", "MACVERIFY"}}}, Alg: kcrypto.HMACSHA256,
		call: func(ctx context.Context, c *client.Client, id string) error {
			_, err := c.MAC(ctx, id, api.MACRequest{Alg: "HMAC-SHA256", Data: payload64})
			return err
		},
		raw: func(k *kcrypto.Key) error { _, err := k.MAC(kcrypto.HMACSHA256, payload64); return err }},
}

// CryptoOptions configure a crypto benchmark.
type CryptoOptions struct {
	Ops         []string // names from CryptoOps; empty for all
	Concurrency []int
	Duration    time.Duration
	Warmup      time.Duration
	RawDuration time.Duration
	Progress    func(string) // called before each measurement
}

// CryptoRow is one operation at one concurrency, with its baselines.
type CryptoRow struct {
	Op           Result  `json:"op"`
	Baseline     Result  `json:"baseline"`
	RawOpsPerSec float64 `json:"raw_ops_per_sec"` // the primitive in process, GOMAXPROCS goroutines
	VsBaseline   float64 `json:"vs_baseline"`     // Op.OpsPerSec / Baseline.OpsPerSec
	VsRaw        float64 `json:"vs_raw"`          // Op.OpsPerSec / RawOpsPerSec
}

// CryptoReport is the whole run.
type CryptoReport struct {
	Server      string      `json:"server"`
	GOMAXPROCS  int         `json:"gomaxprocs"`
	Duration    float64     `json:"duration_seconds"`
	Rows        []CryptoRow `json:"rows"`
	GeneratedAt time.Time   `json:"generated_at"`
}

// Crypto runs the benchmark with c, an application's client. It creates one key per
// operation in the application's first group.
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
	rep := &CryptoReport{Server: c.Addr(), GOMAXPROCS: runtime.GOMAXPROCS(0), Duration: o.Duration.Seconds(), GeneratedAt: time.Now().UTC()}
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
		for _, conc := range o.Concurrency {
			progress(o, fmt.Sprintf("%s at concurrency %d", op.Name, conc))
			res := Load(ctx, op.Name, conc, o.Warmup, o.Duration, func(ctx context.Context) error { return op.call(ctx, c, key.ID) })
			progress(o, fmt.Sprintf("baseline at concurrency %d", conc))
			b := Load(ctx, "baseline", conc, o.Warmup, o.Duration, func(ctx context.Context) error { return base.Call(ctx, body) })
			row := CryptoRow{Op: res, Baseline: b, RawOpsPerSec: raw}
			if b.OpsPerSec > 0 {
				row.VsBaseline = res.OpsPerSec / b.OpsPerSec
			}
			if raw > 0 {
				row.VsRaw = res.OpsPerSec / raw
			}
			rep.Rows = append(rep.Rows, row)
		}
	}
	return rep, nil
}

func progress(o CryptoOptions, s string) {
	if o.Progress != nil {
		o.Progress(s)
	}
}

// rawRate runs the primitive in this process from GOMAXPROCS goroutines.
func rawRate(op CryptoOp, d time.Duration) (float64, error) {
	spec := kcrypto.Spec{Type: kcrypto.AES, Bits: 256}
	switch op.Key.Type {
	case "EC":
		spec = kcrypto.Spec{Type: kcrypto.EC, Curve: kcrypto.P256}
	case "RSA":
		spec = kcrypto.Spec{Type: kcrypto.RSA, Bits: 2048}
	case "HMAC":
		spec = kcrypto.Spec{Type: kcrypto.HMAC, Bits: 256}
	}
	k, err := kcrypto.Generate(spec)
	if err != nil {
		return 0, err
	}
	r := Load(context.Background(), "raw", runtime.GOMAXPROCS(0), d/4, d, func(context.Context) error { return op.raw(k) })
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

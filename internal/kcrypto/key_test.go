package kcrypto

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// allSpecs is every kind of key Keyward can generate, one size each of the
// ranges.
var allSpecs = []Spec{
	{Type: AES, Bits: 128}, {Type: AES, Bits: 192}, {Type: AES, Bits: 256},
	{Type: RSA, Bits: 2048}, {Type: RSA, Bits: 3072}, {Type: RSA, Bits: 4096},
	{Type: EC, Curve: P256}, {Type: EC, Curve: P384}, {Type: EC, Curve: P521}, {Type: EC, Curve: Secp256k1},
	{Type: HMAC, Bits: 128}, {Type: HMAC, Bits: 256}, {Type: HMAC, Bits: 512},
	{Type: Secret, Bits: 8}, {Type: Secret, Bits: 8 * MaxSecretBytes},
}

var (
	keyCacheMu sync.Mutex
	keyCache   = map[Spec]*Key{}
)

// testKey returns a generated key of spec, shared by the tests: RSA-4096
// generation is slow, more so under -race.
func testKey(t testing.TB, spec Spec) *Key {
	t.Helper()
	keyCacheMu.Lock()
	defer keyCacheMu.Unlock()
	if k, ok := keyCache[spec]; ok {
		return k
	}
	k, err := Generate(spec)
	if err != nil {
		t.Fatalf("Generate(%v): %v", spec, err)
	}
	keyCache[spec] = k
	return k
}

func TestGenerateSpecs(t *testing.T) {
	for _, spec := range allSpecs {
		k := testKey(t, spec)
		want := spec
		if want.Type == EC {
			want.Bits = spec.Curve.Bits()
		}
		if got := k.Spec(); got != want {
			t.Errorf("Generate(%v).Spec() = %v", spec, got)
		}
		if k.PublicOnly() {
			t.Errorf("Generate(%v) is public only", spec)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		spec    Spec
		wantErr string
	}{
		{Spec{Type: AES, Bits: 512}, "AES key size must be 128, 192 or 256 bits, not 512"},
		{Spec{Type: RSA, Bits: 1024}, "RSA key size must be 2048, 3072 or 4096 bits, not 1024"},
		{Spec{Type: EC}, "EC key needs a curve"},
		{Spec{Type: EC, Curve: P256, Bits: 384}, "EC key on P-256 has 256 bits, not 384"},
		{Spec{Type: HMAC, Bits: 64}, "HMAC key size must be 16 to 64 bytes, not 8"},
		{Spec{Type: HMAC, Bits: 130}, "not 130 bits"},
		{Spec{Type: Secret, Bits: 0}, "secret size must be 1 byte to 64 KiB, not 0"},
		{Spec{Type: Secret, Bits: 8*MaxSecretBytes + 8}, "not 65537"},
		{Spec{Type: AES, Bits: 128, Curve: P256}, "AES keys have no curve"},
		{Spec{}, "unknown key type 0"},
	}
	for _, tt := range tests {
		err := tt.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%+v.Validate() = %v, want %q", tt.spec, err, tt.wantErr)
		}
	}
	if _, err := Generate(Spec{Type: Certificate}); err == nil {
		t.Error("Generate(Certificate) succeeded")
	}
}

// TestRedacted checks that no formatting verb prints key material.
func TestRedacted(t *testing.T) {
	for _, spec := range allSpecs {
		k := testKey(t, spec)
		raw, err := k.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			out := fmt.Sprintf(verb, k)
			if !strings.HasPrefix(out, "kcrypto.Key(") {
				t.Errorf("%s of %v = %q", verb, spec, out)
			}
			if len(raw) >= 8 && (strings.Contains(out, fmt.Sprintf("%x", raw[:8])) || strings.Contains(out, string(raw[:8]))) {
				t.Errorf("%s of %v prints material", verb, spec)
			}
		}
		// A dereferenced Key printed by reflection shows only a pointer.
		if out := fmt.Sprintf("%+v", *k); strings.Contains(out, fmt.Sprintf("%x", raw[:4])) || strings.Contains(out, fmt.Sprint(raw[:4])) {
			t.Errorf("printing *k of %v shows material: %s", spec, out)
		}
	}
	var nilKey *Key
	if got := fmt.Sprint(nilKey); got != "kcrypto.Key(nil)" {
		t.Errorf("nil key prints %q", got)
	}
	if got := testKey(t, Spec{Type: RSA, Bits: 2048}).String(); got != "kcrypto.Key(RSA-2048 private)" {
		t.Errorf("String() = %q", got)
	}
}

func TestEqual(t *testing.T) {
	a := testKey(t, Spec{Type: AES, Bits: 256})
	raw, _ := a.Export(FormatRaw)
	b, err := Import(raw, ImportOptions{Format: FormatRaw, Type: AES})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := Import(raw, ImportOptions{Format: FormatRaw, Type: HMAC})
	if !a.Equal(b) || a.Equal(h) || a.Equal(testKey(t, Spec{Type: AES, Bits: 128})) || a.Equal(nil) {
		t.Error("Equal gives wrong answers for AES keys")
	}
	r := testKey(t, Spec{Type: RSA, Bits: 2048})
	pub, _ := r.Public()
	pub2, _ := r.Public()
	if r.Equal(pub) || !pub.Equal(pub2) || !r.Equal(r) {
		t.Error("Equal gives wrong answers for RSA keys")
	}
}

func TestDestroy(t *testing.T) {
	for _, spec := range []Spec{{Type: AES, Bits: 256}, {Type: RSA, Bits: 2048}, {Type: EC, Curve: P256}, {Type: EC, Curve: Secp256k1}, {Type: HMAC, Bits: 256}} {
		k, err := Generate(spec)
		if err != nil {
			t.Fatal(err)
		}
		m := k.m
		raw := m.raw
		k.Destroy()
		k.Destroy() // idempotent
		if raw != nil && !bytes.Equal(raw, make([]byte, len(raw))) {
			t.Errorf("%v: raw bytes not wiped", spec)
		}
		if m.k1Priv != nil || m.rsaPriv != nil || m.ecPriv != nil || m.gcm != nil || m.macs[0] != nil {
			t.Errorf("%v: references kept after Destroy", spec)
		}
		if _, err := k.Marshal(); !errors.Is(err, errDestroyed) {
			t.Errorf("%v: Marshal after Destroy = %v", spec, err)
		}
		if _, err := k.Sign(PS256, nil); !errors.Is(err, errDestroyed) {
			t.Errorf("%v: Sign after Destroy = %v", spec, err)
		}
		if !strings.Contains(k.String(), "destroyed") {
			t.Errorf("%v: String after Destroy = %s", spec, k)
		}
	}
	// The RSA private exponent is wiped in place.
	k, _ := Generate(Spec{Type: RSA, Bits: 2048})
	d := k.m.rsaPriv.D
	k.Destroy()
	if d.Sign() != 0 {
		t.Error("RSA D not wiped")
	}
}

func TestParseNames(t *testing.T) {
	for a := Algorithm(1); a < algorithmCount; a++ {
		got, err := ParseAlgorithm(strings.ToLower(a.String()))
		if err != nil || got != a {
			t.Errorf("ParseAlgorithm(%q) = %v, %v", a, got, err)
		}
	}
	for typ := AES; typ <= Certificate; typ++ {
		if got, err := ParseKeyType(typ.String()); err != nil || got != typ {
			t.Errorf("ParseKeyType(%q) = %v, %v", typ, got, err)
		}
	}
	for _, name := range []string{"P-256K", "secp256k1"} {
		if c, err := ParseCurve(name); err != nil || c != Secp256k1 {
			t.Errorf("ParseCurve(%q) = %v, %v", name, c, err)
		}
	}
	if _, err := ParseAlgorithm("RSA1_5"); err == nil {
		t.Error("ParseAlgorithm accepted RSA1_5")
	}
	if _, err := ParseCurve("P-224"); err == nil {
		t.Error("ParseCurve accepted P-224")
	}
}

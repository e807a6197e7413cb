package akvemu

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/keyward/keyward/internal/kcrypto"
)

// verifyCAChain checks a JWS signed with an x5c chain that ends at the emulator's CA, and
// returns its payload.
func verifyCAChain(t *testing.T, e *env, jws string) []byte {
	t.Helper()
	j, err := parseJWS(jws)
	if err != nil {
		t.Fatal(err)
	}
	x5c, _ := j.header["x5c"].([]any)
	if len(x5c) != 2 {
		t.Fatalf("x5c = %v", j.header["x5c"])
	}
	der, _ := base64.StdEncoding.DecodeString(x5c[0].(string))
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: e.emu.CertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("signer certificate does not chain to the emulator CA: %v", err)
	}
	if err := j.verifyRSA(leaf.PublicKey.(*rsa.PublicKey)); err != nil {
		t.Fatalf("signature: %v", err)
	}
	return j.payload
}

func TestSecureKeyRelease(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.keys("direct", "kw-premium")
	policy := []byte(`{"version":"1.0.0","anyOf":[{"authority":"https://attest.example.net","allOf":[{"claim":"sdk-test","equals":true}]}]}`)
	k, err := c.CreateKey(ctx, "exportable", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSAHSM),
		KeyAttributes: &azkeys.KeyAttributes{Exportable: to.Ptr(true)},
		ReleasePolicy: &azkeys.KeyReleasePolicy{EncodedPolicy: policy, Immutable: to.Ptr(true)}}, nil)
	if err != nil {
		t.Fatalf("create exportable key: %v", err)
	}
	if *k.ReleasePolicy.ContentType != "application/json; charset=utf-8" || !*k.Attributes.Exportable {
		t.Errorf("release policy = %+v", k.ReleasePolicy)
	}
	transfer, _ := rsa.GenerateKey(rand.Reader, 2048)
	tok, err := e.emu.AttestationToken("https://attest.example.net", map[string]any{"sdk-test": true}, &transfer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := c.Release(ctx, "exportable", "", azkeys.ReleaseParameters{TargetAttestationToken: &tok, Nonce: to.Ptr("n-1")}, nil)
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	var payload struct {
		Request  map[string]any `json:"request"`
		Response struct {
			Key struct {
				Key struct {
					KeyHSM string `json:"key_hsm"`
					N      string `json:"n"`
				} `json:"key"`
			} `json:"key"`
		} `json:"response"`
	}
	if err := json.Unmarshal(verifyCAChain(t, e, *rel.Value), &payload); err != nil {
		t.Fatal(err)
	}
	if payload.Request["nonce"] != "n-1" || payload.Request["enc"] != "CKM_RSA_AES_KEY_WRAP" {
		t.Errorf("request = %v", payload.Request)
	}
	blobJSON, _ := base64.RawURLEncoding.DecodeString(payload.Response.Key.Key.KeyHSM)
	var blob struct {
		Header     map[string]string `json:"header"`
		Ciphertext string            `json:"ciphertext"`
	}
	if err := json.Unmarshal(blobJSON, &blob); err != nil {
		t.Fatal(err)
	}
	ct, _ := base64.RawURLEncoding.DecodeString(blob.Ciphertext)
	aesKey, err := rsa.DecryptOAEP(sha1.New(), nil, transfer, ct[:256], nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := kwpUnwrap(aesKey, ct[256:])
	if err != nil {
		t.Fatal(err)
	}
	released, err := kcrypto.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(released.(*rsa.PrivateKey).N.Bytes(), k.Key.N) {
		t.Error("the released key is not the key")
	}

	denied, _ := e.emu.AttestationToken("https://attest.example.net", map[string]any{"sdk-test": false}, &transfer.PublicKey)
	golden(t, "release_policy_unmet", e.raw("POST", "kw-premium", "/keys/exportable/release", `{"target":"`+denied+`"}`))
	forged := strings.Split(tok, ".")
	golden(t, "release_untrusted_token", e.raw("POST", "kw-premium", "/keys/exportable/release",
		`{"target":"`+forged[0]+"."+forged[1]+`.AAAA"}`))
	if _, err := c.CreateKey(ctx, "plain", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSAHSM)}, nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "release_not_exportable", e.raw("POST", "kw-premium", "/keys/plain/release", `{"target":"`+tok+`"}`))
	golden(t, "release_policy_immutable", e.raw("PATCH", "kw-premium", "/keys/exportable/",
		`{"release_policy":{"data":"`+b64url(policy)+`"}}`))
}

func TestAttestationAndRandomBytes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.keys("direct", "kw-hsm")
	if _, err := c.CreateKey(ctx, "att", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeECHSM)}, nil); err != nil {
		t.Fatal(err)
	}
	a, err := c.GetKeyAttestation(ctx, "att", "", nil)
	if err != nil {
		t.Fatalf("GetKeyAttestation: %v", err)
	}
	att := a.Attributes.Attestation
	if att == nil || !strings.Contains(string(att.CertificatePEMFile), "BEGIN CERTIFICATE") {
		t.Fatalf("attestation = %+v", att)
	}
	var stmt map[string]any
	if err := json.Unmarshal(verifyCAChain(t, e, string(att.PublicKeyAttestation)), &stmt); err != nil || stmt["kid"] != string(*a.Key.KID) {
		t.Errorf("public key attestation: %v %v", err, stmt)
	}
	if _, err := e.keys("direct", "kw-standard").CreateKey(ctx, "soft", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "attestation_software_key", e.raw("GET", "kw-standard", "/keys/soft/attestation", ""))

	rb, err := c.GetRandomBytes(ctx, azkeys.GetRandomBytesParameters{Count: to.Ptr[int32](48)}, nil)
	if err != nil || len(rb.Value) != 48 {
		t.Fatalf("GetRandomBytes: %v %d", err, len(rb.Value))
	}
	golden(t, "rng_count_0", e.raw("POST", "kw-hsm", "/rng", `{"count":0}`))
	golden(t, "rng_on_vault", e.raw("POST", "kw-standard", "/rng", `{"count":8}`))
}

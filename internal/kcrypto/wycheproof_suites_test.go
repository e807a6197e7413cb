package kcrypto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Wycheproof suites run through the Key API, keys imported from every
// representation a group offers (DER, PEM, JWK), which also tests import.
// Every case in a file is either run, or counted as outside Keyward's
// algorithms (another hash, MGF or salt length); run + outside must equal
// the number the file declares, and the log says how many of each.

type wpGroup struct {
	KeySize         int             `json:"keySize"`
	IvSize          int             `json:"ivSize"`
	TagSize         int             `json:"tagSize"`
	Sha             string          `json:"sha"`
	MgfSha          string          `json:"mgfSha"`
	SLen            int             `json:"sLen"`
	PrivateKeyPkcs8 hexBytes        `json:"privateKeyPkcs8"`
	PrivateKeyPem   string          `json:"privateKeyPem"`
	PrivateKeyJwk   json.RawMessage `json:"privateKeyJwk"`
	PublicKeyDer    hexBytes        `json:"publicKeyDer"`
	PublicKeyPem    string          `json:"publicKeyPem"`
	PublicKeyJwk    json.RawMessage `json:"publicKeyJwk"`
	KeyJwk          json.RawMessage `json:"keyJwk"`
	Tests           []wpTest        `json:"tests"`
}

type wpTest struct {
	wycheproofCase
	Key   hexBytes `json:"key"`
	IV    hexBytes `json:"iv"`
	AAD   hexBytes `json:"aad"`
	Msg   hexBytes `json:"msg"`
	Ct    hexBytes `json:"ct"`
	Tag   hexBytes `json:"tag"`
	Sig   hexBytes `json:"sig"`
	Label hexBytes `json:"label"`
}

type wpFile struct {
	TestGroups []wpGroup `json:"testGroups"`
}

// suite loads one file and counts what ran.
type suite struct {
	*counter
	outside int // cases with parameters Keyward has no algorithm for
	refused int // cases whose key Keyward refuses (RSA-1024, RSA-8192), checked to be refused
	file    wpFile
}

func loadSuite(t *testing.T, name string) *suite {
	s := &suite{}
	n := loadWycheproof(t, name, &s.file)
	s.counter = newCounter(t, name, n)
	return s
}

// skipGroup counts a group whose parameters Keyward has no algorithm for.
func (s *suite) skipGroup(g wpGroup) { s.outside += len(g.Tests); s.got += len(g.Tests) }

func (s *suite) done() {
	s.t.Helper()
	s.check()
	if s.outside == s.want {
		s.t.Errorf("%s: no case is within Keyward's algorithms", s.name)
	}
	s.t.Logf("%s: %d cases run, %d with a key Keyward refuses, %d outside Keyward's algorithms",
		s.name, s.got-s.outside-s.refused, s.refused, s.outside)
}

// groupKey imports every representation of the group's key and checks they
// agree. It returns the import error when the key is refused.
func groupKey(t *testing.T, g wpGroup) (*Key, error) {
	t.Helper()
	var reprs []struct {
		name string
		data []byte
	}
	add := func(name string, data []byte) {
		if len(data) > 0 && string(data) != "null" {
			reprs = append(reprs, struct {
				name string
				data []byte
			}{name, data})
		}
	}
	add("PKCS#8", g.PrivateKeyPkcs8)
	add("private PEM", []byte(g.PrivateKeyPem))
	add("private JWK", g.PrivateKeyJwk)
	add("SPKI", g.PublicKeyDer)
	add("public PEM", []byte(g.PublicKeyPem))
	add("public JWK", g.PublicKeyJwk)
	add("JWK", g.KeyJwk)
	var first *Key
	var firstErr error
	for i, r := range reprs {
		k, err := Import(r.data, ImportOptions{})
		if i == 0 {
			first, firstErr = k, err
			continue
		}
		if (err == nil) != (firstErr == nil) || err == nil && !samePublic(k, first) {
			t.Fatalf("%s import (%v) disagrees with %s import (%v)", r.name, err, reprs[0].name, firstErr)
		}
	}
	if len(reprs) == 0 {
		t.Fatal("group has no key")
	}
	return first, firstErr
}

// samePublic compares keys, or their public parts when one of them is
// public only (sig_gen files give a private PKCS#8 and a public JWK).
func samePublic(a, b *Key) bool {
	if a.PublicOnly() == b.PublicOnly() {
		return a.Equal(b)
	}
	pa, err1 := a.Public()
	pb, err2 := b.Public()
	return err1 == nil && err2 == nil && pa.Equal(pb)
}

var wpHashes = map[string]int{"SHA-1": 20, "SHA-256": 32, "SHA-384": 48, "SHA-512": 64}

func TestWycheproofAESGCM(t *testing.T) {
	s := loadSuite(t, "aes_gcm_test.json")
	defer s.done()
	for _, g := range s.file.TestGroups {
		for _, tc := range g.Tests {
			s.inc()
			k, err := Import(tc.Key, ImportOptions{Format: FormatRaw, Type: AES})
			if err != nil {
				t.Fatalf("tc %d: %v", tc.TcID, err)
			}
			got, err := k.Decrypt(AESGCM, Ciphertext{Data: tc.Ct, IV: tc.IV, Tag: tc.Tag}, tc.AAD)
			if g.IvSize != 96 || g.TagSize != 128 {
				// Keyward opens only 96-bit IVs with 128-bit tags, and says so.
				if err == nil || errors.Is(err, ErrDecrypt) {
					t.Errorf("tc %d: %d-bit IV: Decrypt = %v, want a size error", tc.TcID, g.IvSize, err)
				}
				continue
			}
			switch tc.Result {
			case "valid":
				if err != nil || !bytes.Equal(got, tc.Msg) {
					t.Errorf("tc %d (%s): Decrypt = %x, %v", tc.TcID, tc.Comment, got, err)
				}
				// Encryption with the vector's IV, through the key's cached AEAD.
				if ct := k.m.gcm.Seal(nil, tc.IV, tc.Msg, tc.AAD); !bytes.Equal(ct, append(bytes.Clone(tc.Ct), tc.Tag...)) {
					t.Errorf("tc %d: Seal = %x", tc.TcID, ct)
				}
			case "invalid":
				if !errors.Is(err, ErrDecrypt) {
					t.Errorf("tc %d (%s) %v: Decrypt = %x, %v", tc.TcID, tc.Comment, tc.Flags, got, err)
				}
			default:
				t.Errorf("tc %d: result %q", tc.TcID, tc.Result)
			}
		}
	}
}

func TestWycheproofAESCBC(t *testing.T) {
	s := loadSuite(t, "aes_cbc_pkcs5_test.json")
	defer s.done()
	for _, g := range s.file.TestGroups {
		for _, tc := range g.Tests {
			s.inc()
			k, err := Import(tc.Key, ImportOptions{Format: FormatRaw, Type: AES})
			if err != nil {
				t.Fatalf("tc %d: %v", tc.TcID, err)
			}
			got, err := k.Decrypt(AESCBC, Ciphertext{Data: tc.Ct, IV: tc.IV}, nil)
			switch tc.Result {
			case "valid":
				if err != nil || !bytes.Equal(got, tc.Msg) {
					t.Errorf("tc %d (%s): Decrypt = %x, %v", tc.TcID, tc.Comment, got, err)
				}
				c, err := k.Encrypt(AESCBC, tc.Msg, CipherOpts{IV: tc.IV})
				if err != nil || !bytes.Equal(c.Data, tc.Ct) {
					t.Errorf("tc %d: Encrypt = %x, %v", tc.TcID, c.Data, err)
				}
			case "invalid":
				if !errors.Is(err, ErrDecrypt) {
					t.Errorf("tc %d (%s) %v: Decrypt = %x, %v", tc.TcID, tc.Comment, tc.Flags, got, err)
				}
			default:
				t.Errorf("tc %d: result %q", tc.TcID, tc.Result)
			}
		}
	}
}

// TestWycheproofKeyWrapAPI runs the KW and KWP files through Key.Unwrap
// and Key.Wrap as well as through the primitives (TestWycheproofKeyWrap).
func TestWycheproofKeyWrapAPI(t *testing.T) {
	for file, alg := range map[string]Algorithm{"aes_wrap_test.json": AESKW, "aes_kwp_test.json": AESKWP} {
		s := loadSuite(t, file)
		for _, g := range s.file.TestGroups {
			for _, tc := range g.Tests {
				s.inc()
				k, err := Import(tc.Key, ImportOptions{Format: FormatRaw, Type: AES})
				if err != nil {
					t.Fatalf("tc %d: %v", tc.TcID, err)
				}
				got, err := k.Unwrap(alg, tc.Ct)
				if tc.Result == "valid" {
					w, werr := k.Wrap(alg, tc.Msg)
					if err != nil || !bytes.Equal(got, tc.Msg) || werr != nil || !bytes.Equal(w, tc.Ct) {
						t.Errorf("%s tc %d: Unwrap = %x, %v; Wrap = %x, %v", file, tc.TcID, got, err, w, werr)
					}
				} else if err == nil { // invalid, and KW's acceptable 8-byte keys, which we refuse
					t.Errorf("%s tc %d (%s): Unwrap accepted it", file, tc.TcID, tc.Comment)
				}
			}
		}
		s.done()
	}
}

func TestWycheproofRSAOAEP(t *testing.T) {
	algs := map[string]Algorithm{"SHA-1": RSAOAEPSHA1, "SHA-256": RSAOAEPSHA256}
	for _, file := range []string{
		"rsa_oaep_2048_sha1_mgf1sha1_test.json", "rsa_oaep_2048_sha256_mgf1sha256_test.json",
		"rsa_oaep_3072_sha256_mgf1sha256_test.json", "rsa_oaep_4096_sha256_mgf1sha256_test.json",
		"rsa_oaep_misc_test.json",
	} {
		s := loadSuite(t, file)
		for _, g := range s.file.TestGroups {
			alg, ok := algs[g.Sha]
			if !ok || g.MgfSha != g.Sha {
				s.skipGroup(g)
				continue
			}
			k, err := groupKey(t, g)
			if sizeRefused(t, g.KeySize, err) {
				s.got += len(g.Tests)
				s.refused += len(g.Tests)
				continue
			}
			for _, tc := range g.Tests {
				s.inc()
				got, err := k.Decrypt(alg, Ciphertext{Data: tc.Ct}, tc.Label)
				switch {
				case tc.Result == "valid" || tc.Result == "acceptable" && err == nil:
					if err != nil || !bytes.Equal(got, tc.Msg) {
						t.Errorf("%s tc %d (%s): Decrypt = %x, %v", file, tc.TcID, tc.Comment, got, err)
					}
				case !errors.Is(err, ErrDecrypt):
					t.Errorf("%s tc %d (%s) %v: Decrypt = %x, %v", file, tc.TcID, tc.Comment, tc.Flags, got, err)
				}
			}
		}
		s.done()
	}
}

// sizeRefused reports whether the group's key has a size Keyward refuses,
// failing the test unless its import was refused with a size error.
func sizeRefused(t *testing.T, bits int, importErr error) bool {
	t.Helper()
	if bits == 2048 || bits == 3072 || bits == 4096 {
		if importErr != nil {
			t.Fatalf("RSA-%d key refused: %v", bits, importErr)
		}
		return false
	}
	want := fmt.Sprintf("RSA key size must be 2048, 3072 or 4096 bits, not %d", bits)
	if importErr == nil || importErr.Error() != want {
		t.Errorf("RSA-%d key: import = %v, want %q", bits, importErr, want)
	}
	return true
}

func TestWycheproofRSAPSS(t *testing.T) {
	algs := map[string]Algorithm{"SHA-256": PS256, "SHA-384": PS384, "SHA-512": PS512}
	for _, file := range []string{
		"rsa_pss_2048_sha256_mgf1_32_test.json", "rsa_pss_3072_sha256_mgf1_32_test.json", "rsa_pss_4096_sha256_mgf1_32_test.json",
		"rsa_pss_2048_sha384_mgf1_48_test.json", "rsa_pss_4096_sha384_mgf1_48_test.json", "rsa_pss_4096_sha512_mgf1_64_test.json",
		"rsa_pss_misc_test.json",
	} {
		s := loadSuite(t, file)
		for _, g := range s.file.TestGroups {
			alg, ok := algs[g.Sha]
			if !ok || g.MgfSha != g.Sha || g.SLen != wpHashes[g.Sha] {
				s.skipGroup(g) // Keyward's PSS: MGF1 with the same hash, salt as long as the hash
				continue
			}
			k, err := groupKey(t, g)
			if sizeRefused(t, g.KeySize, err) {
				s.got += len(g.Tests)
				s.refused += len(g.Tests)
				continue
			}
			for _, tc := range g.Tests {
				s.inc()
				checkVerify(t, file, tc, k.Verify(alg, tc.Msg, tc.Sig))
			}
		}
		s.done()
	}
}

// checkVerify checks a Verify result against the case; "acceptable" cases
// are the ones Go's crypto refuses (PKCS#1 DigestInfo without NULL), and
// Keyward refuses them too.
func checkVerify(t *testing.T, file string, tc wpTest, err error) {
	t.Helper()
	switch tc.Result {
	case "valid":
		if err != nil {
			t.Errorf("%s tc %d (%s) %v: Verify = %v", file, tc.TcID, tc.Comment, tc.Flags, err)
		}
	case "invalid", "acceptable":
		if !errors.Is(err, ErrSignature) {
			t.Errorf("%s tc %d (%s) %v %s: Verify = %v, want ErrSignature", file, tc.TcID, tc.Comment, tc.Flags, tc.Result, err)
		}
	default:
		t.Errorf("%s tc %d: result %q", file, tc.TcID, tc.Result)
	}
}

func TestWycheproofRSAPKCS1(t *testing.T) {
	algs := map[string]Algorithm{"SHA-256": RS256, "SHA-384": RS384, "SHA-512": RS512}
	for _, bits := range []int{2048, 3072, 4096} {
		for _, sha := range []string{"sha256", "sha384", "sha512"} {
			file := fmt.Sprintf("rsa_signature_%d_%s_test.json", bits, sha)
			s := loadSuite(t, file)
			for _, g := range s.file.TestGroups {
				k, err := groupKey(t, g)
				if err != nil {
					t.Fatal(err)
				}
				for _, tc := range g.Tests {
					s.inc()
					checkVerify(t, file, tc, k.Verify(algs[g.Sha], tc.Msg, tc.Sig))
				}
			}
			s.done()
		}
		// Signature generation: PKCS#1 v1.5 is deterministic.
		file := fmt.Sprintf("rsa_pkcs1_%d_sig_gen_test.json", bits)
		s := loadSuite(t, file)
		for _, g := range s.file.TestGroups {
			alg, ok := algs[g.Sha]
			if !ok {
				s.skipGroup(g)
				continue
			}
			k, err := groupKey(t, g)
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range g.Tests {
				s.inc()
				sig, err := k.Sign(alg, tc.Msg)
				if err != nil || !bytes.Equal(sig, tc.Sig) {
					t.Errorf("%s tc %d: Sign = %x, %v", file, tc.TcID, sig, err)
				}
			}
		}
		s.done()
	}
}

func TestWycheproofECDSA(t *testing.T) {
	der := map[string]Algorithm{"SHA-256": ECDSASHA256, "SHA-384": ECDSASHA384, "SHA-512": ECDSASHA512}
	raw := map[string]Algorithm{"SHA-256": ECDSASHA256Raw, "SHA-384": ECDSASHA384Raw, "SHA-512": ECDSASHA512Raw}
	files := []string{
		"ecdsa_secp256r1_sha256_test.json", "ecdsa_secp256r1_sha512_test.json", "ecdsa_secp384r1_sha256_test.json",
		"ecdsa_secp384r1_sha384_test.json", "ecdsa_secp384r1_sha512_test.json", "ecdsa_secp521r1_sha512_test.json",
		"ecdsa_secp256k1_sha256_test.json", "ecdsa_secp256k1_sha512_test.json",
		"ecdsa_secp256r1_sha256_p1363_test.json", "ecdsa_secp256r1_sha512_p1363_test.json",
		"ecdsa_secp384r1_sha384_p1363_test.json", "ecdsa_secp384r1_sha512_p1363_test.json",
		"ecdsa_secp521r1_sha512_p1363_test.json",
		"ecdsa_secp256k1_sha256_p1363_test.json", "ecdsa_secp256k1_sha512_p1363_test.json",
		"ecdsa_secp256r1_webcrypto_test.json", "ecdsa_secp384r1_webcrypto_test.json", "ecdsa_secp521r1_webcrypto_test.json",
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			algs := der
			if strings.Contains(file, "p1363") || strings.Contains(file, "webcrypto") {
				algs = raw // IEEE P1363 r‖s, as WebCrypto and JOSE use
			}
			s := loadSuite(t, file)
			defer s.done()
			for _, g := range s.file.TestGroups {
				k, err := groupKey(t, g)
				if err != nil {
					t.Fatal(err)
				}
				for _, tc := range g.Tests {
					s.inc()
					checkVerify(t, file, tc, k.Verify(algs[g.Sha], tc.Msg, tc.Sig))
				}
			}
		})
	}
}

func TestWycheproofHMAC(t *testing.T) {
	algs := map[string]Algorithm{"hmac_sha256_test.json": HMACSHA256, "hmac_sha384_test.json": HMACSHA384, "hmac_sha512_test.json": HMACSHA512}
	for file, alg := range algs {
		s := loadSuite(t, file)
		for _, g := range s.file.TestGroups {
			for _, tc := range g.Tests {
				s.inc()
				k, err := Import(tc.Key, ImportOptions{Format: FormatRaw, Type: HMAC})
				if n := len(tc.Key); n < MinHMACBytes || n > MaxHMACBytes {
					if err == nil {
						t.Errorf("%s tc %d: %d-byte HMAC key accepted", file, tc.TcID, n)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s tc %d: %v", file, tc.TcID, err)
				}
				mac, err := k.MAC(alg, tc.Msg)
				if err != nil {
					t.Fatal(err)
				}
				verr := k.VerifyMAC(alg, tc.Msg, tc.Tag)
				full := g.TagSize == 8*len(mac)
				switch {
				case tc.Result == "valid" && full:
					if !bytes.Equal(mac, tc.Tag) || verr != nil {
						t.Errorf("%s tc %d: MAC = %x, VerifyMAC = %v", file, tc.TcID, mac, verr)
					}
				case tc.Result == "valid":
					// Truncated tags: the computation agrees, but Keyward
					// verifies full-length tags only.
					if !bytes.Equal(mac[:len(tc.Tag)], tc.Tag) || !errors.Is(verr, ErrMAC) {
						t.Errorf("%s tc %d: truncated MAC %x, VerifyMAC = %v", file, tc.TcID, mac, verr)
					}
				default:
					if !errors.Is(verr, ErrMAC) || bytes.Equal(mac[:len(tc.Tag)], tc.Tag) {
						t.Errorf("%s tc %d (%s): VerifyMAC = %v", file, tc.TcID, tc.Comment, verr)
					}
				}
			}
		}
		s.done()
	}
}

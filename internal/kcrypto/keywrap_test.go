package kcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// TestKeyWrapRFC3394 checks the vectors of RFC 3394 §4.
func TestKeyWrapRFC3394(t *testing.T) {
	const kek128 = "000102030405060708090A0B0C0D0E0F"
	const kek192 = kek128 + "1011121314151617"
	const kek256 = kek192 + "18191A1B1C1D1E1F"
	const data128 = "00112233445566778899AABBCCDDEEFF"
	tests := []struct{ name, kek, data, wrapped string }{
		{"4.1 128-bit data, 128-bit kek", kek128, data128, "1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5"},
		{"4.2 128-bit data, 192-bit kek", kek192, data128, "96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D"},
		{"4.3 128-bit data, 256-bit kek", kek256, data128, "64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7"},
		{"4.4 192-bit data, 192-bit kek", kek192, data128 + "0001020304050607", "031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2"},
		{"4.5 192-bit data, 256-bit kek", kek256, data128 + "0001020304050607", "A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1"},
		{"4.6 256-bit data, 256-bit kek", kek256, data128 + "000102030405060708090A0B0C0D0E0F", "28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := aes.NewCipher(unhex(t, tt.kek))
			data, want := unhex(t, tt.data), unhex(t, tt.wrapped)
			got, err := KeyWrap(b, data)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("KeyWrap = %x, %v; want %x", got, err, want)
			}
			back, err := KeyUnwrap(b, want)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("KeyUnwrap = %x, %v; want %x", back, err, data)
			}
			want[len(want)-1] ^= 1
			if _, err := KeyUnwrap(b, want); err == nil {
				t.Fatal("KeyUnwrap accepted a modified ciphertext")
			}
		})
	}
}

// TestKeyWrapPadRFC5649 checks the vectors of RFC 5649 §6.
func TestKeyWrapPadRFC5649(t *testing.T) {
	const kek = "5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8"
	tests := []struct{ name, data, wrapped string }{
		{"20 octets", "c37b7e6492584340 bed1220780894115 5068f738", "138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a"},
		{"7 octets", "466f7250617369", "afbeb0f07dfbf541 9200f2ccb50bb24f"},
	}
	b, _ := aes.NewCipher(unhex(t, kek))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, want := unhex(t, tt.data), unhex(t, tt.wrapped)
			got, err := KeyWrapPad(b, data)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("KeyWrapPad = %x, %v; want %x", got, err, want)
			}
			back, err := KeyUnwrapPad(b, want)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("KeyUnwrapPad = %x, %v; want %x", back, err, data)
			}
			want[0] ^= 0x80
			if _, err := KeyUnwrapPad(b, want); err == nil {
				t.Fatal("KeyUnwrapPad accepted a modified ciphertext")
			}
		})
	}
}

func TestKeyWrapPadLengths(t *testing.T) {
	b, _ := aes.NewCipher(make([]byte, 32))
	for n := 1; n <= 80; n++ {
		p := bytes.Repeat([]byte{byte(n)}, n)
		w, err := KeyWrapPad(b, p)
		if err != nil {
			t.Fatalf("len %d: %v", n, err)
		}
		if want := 8*((n+7)/8) + 8; len(w) != want {
			t.Errorf("len %d: wrapped to %d bytes, want %d", n, len(w), want)
		}
		got, err := KeyUnwrapPad(b, w)
		if err != nil || !bytes.Equal(got, p) {
			t.Errorf("len %d: unwrap = %x, %v", n, got, err)
		}
	}
	if _, err := KeyWrapPad(b, nil); err == nil {
		t.Error("KeyWrapPad accepted empty input")
	}
	for _, n := range []int{0, 8, 15, 17} {
		if _, err := KeyWrap(b, make([]byte, n)); err == nil {
			t.Errorf("KeyWrap accepted %d bytes", n)
		}
	}
	des := fakeBlock{8}
	if _, err := KeyWrap(des, make([]byte, 16)); err == nil {
		t.Error("KeyWrap accepted an 8-byte block cipher")
	}
	if _, err := KeyUnwrapPad(des, make([]byte, 16)); err == nil {
		t.Error("KeyUnwrapPad accepted an 8-byte block cipher")
	}
}

// fakeBlock is a block cipher with the wrong block size, to test the check;
// its methods are never reached.
type fakeBlock struct{ n int }

func (f fakeBlock) BlockSize() int          { return f.n }
func (f fakeBlock) Encrypt(dst, src []byte) { panic("not reached") }
func (f fakeBlock) Decrypt(dst, src []byte) { panic("not reached") }

type keywrapVectors struct {
	TestGroups []struct {
		KeySize int `json:"keySize"`
		Tests   []struct {
			wycheproofCase
			Key hexBytes `json:"key"`
			Msg hexBytes `json:"msg"`
			Ct  hexBytes `json:"ct"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// TestWycheproofKeyWrap runs aes_wrap_test.json and aes_kwp_test.json.
func TestWycheproofKeyWrap(t *testing.T) {
	suites := []struct {
		file   string
		wrap   func(b cipher.Block, p []byte) ([]byte, error)
		unwrap func(b cipher.Block, c []byte) ([]byte, error)
	}{
		{"aes_wrap_test.json", KeyWrap, KeyUnwrap},
		{"aes_kwp_test.json", KeyWrapPad, KeyUnwrapPad},
	}
	for _, s := range suites {
		t.Run(s.file, func(t *testing.T) {
			var v keywrapVectors
			c := newCounter(t, s.file, loadWycheproof(t, s.file, &v))
			defer c.check()
			for _, g := range v.TestGroups {
				for _, tc := range g.Tests {
					c.inc()
					b, err := aes.NewCipher(tc.Key)
					if err != nil {
						t.Fatalf("tc %d: %v", tc.TcID, err)
					}
					got, err := s.unwrap(b, tc.Ct)
					switch tc.Result {
					case "valid":
						if err != nil || !bytes.Equal(got, tc.Msg) {
							t.Errorf("tc %d (%s): unwrap = %x, %v; want %x", tc.TcID, tc.Comment, got, err, tc.Msg)
						}
						w, err := s.wrap(b, tc.Msg)
						if err != nil || !bytes.Equal(w, tc.Ct) {
							t.Errorf("tc %d (%s): wrap = %x, %v; want %x", tc.TcID, tc.Comment, w, err, tc.Ct)
						}
					case "invalid":
						if err == nil {
							t.Errorf("tc %d (%s) %v: unwrap accepted an invalid ciphertext", tc.TcID, tc.Comment, tc.Flags)
						}
					case "acceptable":
						// The only acceptable cases wrap 8-byte keys with KW, which
						// RFC 3394 allows and SP 800-38F does not; we follow SP 800-38F.
						if err == nil || !slices.Contains(tc.Flags, "ShortKey") {
							t.Errorf("tc %d (%s) %v: unwrap = %x, %v; want rejection of the 8-byte key", tc.TcID, tc.Comment, tc.Flags, got, err)
						}
					default:
						t.Errorf("tc %d: unexpected result %q", tc.TcID, tc.Result)
					}
				}
			}
		})
	}
}

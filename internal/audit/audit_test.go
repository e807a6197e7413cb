package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// The chain's hash is part of every stored record: a change to how it is computed would
// make every existing trail fail verification. These tests pin it.

func TestHashIsStable(t *testing.T) {
	r := keyward.AuditRecord{AccountID: "acct-1", Seq: 42, Time: time.UnixMicro(1_790_000_000_123_456),
		Actor: "app:7", ActorName: "payments", Action: "key.sign", Target: "key:9", Outcome: "ok",
		RequestID: "req-1", Detail: `{"alg":"ES256"}`, PrevHash: bytes.Repeat([]byte{0xab}, 32)}
	const want = "e07375dea95e829786059df166ce24b76db9d90dbf2eccbc4905e350a1ef8e51"
	if got := hex.EncodeToString(Hash(&r)); got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
}

func TestHashMatchesTheFirstEncoding(t *testing.T) {
	long := string(bytes.Repeat([]byte("é\x00"), 400)) // past the stack buffer, with NULs
	for _, r := range []keyward.AuditRecord{
		{},
		{AccountID: "a", Seq: 1, Time: time.Unix(0, 0)},
		{AccountID: "acct", Seq: -5, Time: time.UnixMicro(-1), Detail: long, PrevHash: []byte{0}},
		{AccountID: long, Seq: 1 << 62, Time: time.UnixMicro(1 << 50), Actor: "u:1", ActorName: long, Action: "x", Target: long,
			Outcome: "denied", RequestID: "r", Detail: "d", PrevHash: bytes.Repeat([]byte{1}, 32)},
	} {
		if got, want := Hash(&r), hashV1Reference(&r); !bytes.Equal(got, want) {
			t.Errorf("record %+v: Hash %x, first encoding %x", r, got, want)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	r := keyward.AuditRecord{AccountID: "0190f3a2-7c41-7b7e-9a52-4c1f7f2d9e10", Seq: 123456, Time: time.Now(),
		Actor: "app:0190f3a2-7c41-7b7e-9a52-4c1f7f2d9e11", ActorName: "payments", Action: "key.encrypt",
		Target: "key:0190f3a2-7c41-7b7e-9a52-4c1f7f2d9e12", Outcome: "ok", RequestID: "0190f3a27c41", PrevHash: make([]byte, 32)}
	b.ReportAllocs()
	for b.Loop() {
		Hash(&r)
	}
}

// hashV1Reference is Hash as first written (with bytes.Buffer), kept to prove that the
// faster one computes the same thing.
func hashV1Reference(r *keyward.AuditRecord) []byte {
	var buf bytes.Buffer
	buf.WriteString(domain)
	for _, f := range [][]byte{
		[]byte(r.AccountID),
		[]byte(strconv.FormatInt(r.Seq, 10)),
		[]byte(strconv.FormatInt(r.Time.UnixMicro(), 10)),
		[]byte(r.Actor),
		[]byte(r.ActorName),
		[]byte(r.Action),
		[]byte(r.Target),
		[]byte(r.Outcome),
		[]byte(r.RequestID),
		[]byte(r.Detail),
		r.PrevHash,
	} {
		buf.Write(binary.AppendUvarint(nil, uint64(len(f))))
		buf.Write(f)
	}
	sum := sha256.Sum256(buf.Bytes())
	return sum[:]
}

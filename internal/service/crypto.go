package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
)

// Cryptographic actions: applications only, in the groups they belong to.
const (
	ActEncrypt   keyward.Action = "crypto.encrypt"
	ActDecrypt   keyward.Action = "crypto.decrypt"
	ActSign      keyward.Action = "crypto.sign"
	ActVerify    keyward.Action = "crypto.verify"
	ActWrap      keyward.Action = "crypto.wrap"
	ActUnwrap    keyward.Action = "crypto.unwrap"
	ActMAC       keyward.Action = "crypto.mac"
	ActMACVerify keyward.Action = "crypto.mac_verify"
	ActRandom    keyward.Action = "crypto.random"
)

func init() {
	for _, a := range []keyward.Action{ActEncrypt, ActDecrypt, ActSign, ActVerify, ActWrap, ActUnwrap, ActMAC, ActMACVerify, ActRandom} {
		keyward.RegisterAction(a, true, false, false)
	}
}

// cryptoCall is one operation on one key.
type cryptoCall struct {
	ref    string
	op     keyward.Operation
	action keyward.Action
	alg    string
}

// run resolves the key, checks that p may use it for the operation now, runs fn, and
// appends the audit record — durably, before the result is returned. A result whose record
// could not be written is withheld.
func (s *Service) run(ctx context.Context, p keyward.Principal, c cryptoCall, fn func(k *kcrypto.Key) error) (keyID string, err error) {
	now := s.clock.Now()
	lk, err := s.liveKey(ctx, p, c.ref, now)
	keyID = c.ref
	if lk != nil {
		keyID = lk.obj.ID
		if err = s.checkCryptoUse(ctx, p, lk.obj, c.op, c.action, now); err == nil {
			err = lk.use.CheckUse(c.op)
		}
	}
	outcome, detail := keyward.OutcomeSuccess, c.alg
	if err == nil {
		if err = fn(lk.key); err != nil {
			outcome, detail = keyward.OutcomeFailure, c.alg+": "+keyward.ErrorMessage(err)
		}
	} else {
		outcome, detail = outcomeOf(err), keyward.ErrorMessage(err)
	}
	rec := keyward.AuditRecord{AccountID: p.AccountID, Time: now, Actor: p.Actor(), ActorName: p.Name, Action: c.action,
		Target: "object:" + keyID, Outcome: outcome, RequestID: RequestID(ctx), Detail: detail}
	if aerr := s.audits.Append(rec); aerr != nil {
		return keyID, keyward.Errorf(keyward.EUNAVAILABLE, "the operation's audit record could not be written, so its result is withheld; retry")
	}
	return keyID, err
}

func outcomeOf(err error) string {
	if keyward.IsDenied(err) {
		return keyward.OutcomeDenied
	}
	return keyward.OutcomeFailure
}

// liveKey returns the object named by ref (id or name) with its key unsealed, from the
// cache when it is fresh.
func (s *Service) liveKey(ctx context.Context, p keyward.Principal, ref string, now time.Time) (*liveKey, error) {
	ck := p.AccountID + "\x00" + ref
	if lk, ok := s.cache.keys.get(ck, now); ok {
		return lk, nil
	}
	var lk *liveKey
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		o, err := tx.GetObject(p.AccountID, ref)
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			o, err = tx.GetObjectByName(p.AccountID, ref)
		}
		if err != nil {
			return err
		}
		if o.Cloud != nil {
			return keyward.Errorf(keyward.EPRECONDITION, "%q is a virtual key: its material is in Azure vault %s; use it there", o.Name, o.Cloud.Vault)
		}
		g, err := tx.GetGroup(p.AccountID, o.GroupID)
		if err != nil {
			return err
		}
		lk = &liveKey{obj: o, use: g.Policy.Crypto}
		if o.State != keyward.StateDestroyed {
			lk.key, err = s.openObject(tx, o)
		}
		return err
	})
	if err != nil {
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			return nil, keyward.Errorf(keyward.ENOTFOUND, "key %q not found", ref)
		}
		return nil, err
	}
	s.cache.keys.put(ck, lk, now)
	return lk, nil
}

// principalGroups returns p's groups and roles, from the cache when it is fresh.
func (s *Service) principalGroups(ctx context.Context, p keyward.Principal, now time.Time) (map[string]keyward.GroupRole, error) {
	ck := string(p.Kind) + ":" + p.ID
	if g, ok := s.cache.groups.get(ck, now); ok {
		return g, nil
	}
	g := map[string]keyward.GroupRole{}
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		ms, err := tx.PrincipalGroups(p.Kind, p.ID)
		for _, m := range ms {
			g[m.GroupID] = m.Role
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	s.cache.groups.put(ck, g, now)
	return g, nil
}

// checkCryptoUse applies the one rule for cryptographic use: an application, member of the
// key's group, a key that permits the operation, in a state that allows it now.
func (s *Service) checkCryptoUse(ctx context.Context, p keyward.Principal, o *keyward.Object, op keyward.Operation, a keyward.Action, now time.Time) error {
	var role keyward.GroupRole
	if p.IsApp() {
		groups, err := s.principalGroups(ctx, p, now)
		if err != nil {
			return err
		}
		role = groups[o.GroupID]
	}
	if err := keyward.Authorize(p, a, []keyward.GroupRole{role}); err != nil {
		if p.IsApp() && role == "" {
			return keyward.Hidden("key") // a key outside the app's groups does not exist for it
		}
		return err
	}
	return o.CheckUse(op, now)
}

// cryptoErr turns a primitive's error into a caller-safe one.
func cryptoErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kcrypto.ErrDecrypt), errors.Is(err, kcrypto.ErrUnwrap):
		return keyward.Invalid("ciphertext", "does not decrypt under this key (wrong key, or altered ciphertext, IV, tag or associated data)")
	}
	return keyward.Invalid("alg", "%v", err)
}

func parseAlg(s string) (kcrypto.Algorithm, error) {
	if s == "" {
		return 0, keyward.Invalid("alg", "is required")
	}
	a, err := kcrypto.ParseAlgorithm(s)
	if err != nil {
		return 0, keyward.Invalid("alg", "unknown algorithm %q", s)
	}
	return a, nil
}

// EncryptResult is a ciphertext and what decrypting it needs.
type EncryptResult struct {
	KeyID          string
	Ciphertext, IV []byte
	Tag            []byte
}

// Encrypt encrypts plaintext with the key: AES-GCM (IV generated, optional AAD), AES-CBC
// (PKCS#7; IV from the caller or generated) or RSA-OAEP (SHA-1 or SHA-256).
func (s *Service) Encrypt(ctx context.Context, p keyward.Principal, ref, alg string, plaintext, aad, iv []byte) (*EncryptResult, error) {
	a, err := parseAlg(alg)
	if err != nil {
		return nil, err
	}
	var out EncryptResult
	out.KeyID, err = s.run(ctx, p, cryptoCall{ref, keyward.OpEncrypt, ActEncrypt, alg}, func(k *kcrypto.Key) error {
		ct, err := k.Encrypt(a, plaintext, kcrypto.CipherOpts{IV: iv, AAD: aad})
		out.Ciphertext, out.IV, out.Tag = ct.Data, ct.IV, ct.Tag
		return cryptoErr(err)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Decrypt reverses Encrypt.
func (s *Service) Decrypt(ctx context.Context, p keyward.Principal, ref, alg string, ciphertext, iv, tag, aad []byte) ([]byte, error) {
	a, err := parseAlg(alg)
	if err != nil {
		return nil, err
	}
	var pt []byte
	_, err = s.run(ctx, p, cryptoCall{ref, keyward.OpDecrypt, ActDecrypt, alg}, func(k *kcrypto.Key) error {
		var err error
		pt, err = k.Decrypt(a, kcrypto.Ciphertext{Data: ciphertext, IV: iv, Tag: tag}, aad)
		return cryptoErr(err)
	})
	return pt, err
}

// Sign signs a message (hashed inside) or, when digest is true, a digest of the
// algorithm's hash length.
func (s *Service) Sign(ctx context.Context, p keyward.Principal, ref, alg string, data []byte, digest bool) ([]byte, error) {
	a, err := parseAlg(alg)
	if err != nil {
		return nil, err
	}
	var sig []byte
	_, err = s.run(ctx, p, cryptoCall{ref, keyward.OpSign, ActSign, alg}, func(k *kcrypto.Key) error {
		var err error
		if digest {
			sig, err = k.SignDigest(a, data)
		} else {
			sig, err = k.Sign(a, data)
		}
		return cryptoErr(err)
	})
	return sig, err
}

// Verify checks a signature; a signature that does not verify is a result, not an error.
func (s *Service) Verify(ctx context.Context, p keyward.Principal, ref, alg string, data, sig []byte, digest bool) (bool, error) {
	a, err := parseAlg(alg)
	if err != nil {
		return false, err
	}
	valid := false
	_, err = s.run(ctx, p, cryptoCall{ref, keyward.OpVerify, ActVerify, alg}, func(k *kcrypto.Key) error {
		var err error
		if digest {
			err = k.VerifyDigest(a, data, sig)
		} else {
			err = k.Verify(a, data, sig)
		}
		if errors.Is(err, kcrypto.ErrSignature) {
			return nil
		}
		valid = err == nil
		return cryptoErr(err)
	})
	return valid, err
}

// Wrap wraps key material the caller holds (AES-KW, AES-KWP, RSA-OAEP).
func (s *Service) Wrap(ctx context.Context, p keyward.Principal, ref, alg string, keyMaterial []byte) ([]byte, error) {
	a, err := parseAlg(alg)
	if err != nil {
		return nil, err
	}
	var out []byte
	_, err = s.run(ctx, p, cryptoCall{ref, keyward.OpWrapKey, ActWrap, alg}, func(k *kcrypto.Key) error {
		var err error
		out, err = k.Wrap(a, keyMaterial)
		return cryptoErr(err)
	})
	return out, err
}

// Unwrap reverses Wrap.
func (s *Service) Unwrap(ctx context.Context, p keyward.Principal, ref, alg string, wrapped []byte) ([]byte, error) {
	a, err := parseAlg(alg)
	if err != nil {
		return nil, err
	}
	var out []byte
	_, err = s.run(ctx, p, cryptoCall{ref, keyward.OpUnwrapKey, ActUnwrap, alg}, func(k *kcrypto.Key) error {
		var err error
		out, err = k.Unwrap(a, wrapped)
		return cryptoErr(err)
	})
	return out, err
}

// MAC computes an HMAC.
func (s *Service) MAC(ctx context.Context, p keyward.Principal, ref, alg string, data []byte) ([]byte, error) {
	a, err := parseAlg(alg)
	if err != nil {
		return nil, err
	}
	var mac []byte
	_, err = s.run(ctx, p, cryptoCall{ref, keyward.OpMACGenerate, ActMAC, alg}, func(k *kcrypto.Key) error {
		var err error
		mac, err = k.MAC(a, data)
		return cryptoErr(err)
	})
	return mac, err
}

// VerifyMAC checks an HMAC in constant time; a mismatch is a result, not an error.
func (s *Service) VerifyMAC(ctx context.Context, p keyward.Principal, ref, alg string, data, mac []byte) (bool, error) {
	a, err := parseAlg(alg)
	if err != nil {
		return false, err
	}
	valid := false
	_, err = s.run(ctx, p, cryptoCall{ref, keyward.OpMACVerify, ActMACVerify, alg}, func(k *kcrypto.Key) error {
		err := k.VerifyMAC(a, data, mac)
		if errors.Is(err, kcrypto.ErrMAC) {
			return nil
		}
		valid = err == nil
		return cryptoErr(err)
	})
	return valid, err
}

// Random returns count random bytes from the system's CSPRNG (applications only).
func (s *Service) Random(ctx context.Context, p keyward.Principal, count int) ([]byte, error) {
	if count < 1 || count > kcrypto.MaxRandomBytes {
		return nil, keyward.Invalid("count", "must be from 1 to %d", kcrypto.MaxRandomBytes)
	}
	now := s.clock.Now()
	rec := keyward.AuditRecord{AccountID: p.AccountID, Time: now, Actor: p.Actor(), ActorName: p.Name, Action: ActRandom,
		Outcome: keyward.OutcomeSuccess, RequestID: RequestID(ctx), Detail: fmt.Sprintf("%d bytes", count)}
	err := keyward.Authorize(p, ActRandom, []keyward.GroupRole{keyward.GroupMemberApp})
	if err != nil {
		rec.Outcome, rec.Detail = keyward.OutcomeDenied, keyward.ErrorMessage(err)
	}
	var out []byte
	if err == nil {
		out, err = kcrypto.Random(count)
	}
	if aerr := s.audits.Append(rec); aerr != nil {
		return nil, keyward.Errorf(keyward.EUNAVAILABLE, "the operation's audit record could not be written, so its result is withheld; retry")
	}
	return out, err
}

package akvemu

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Backup and restore (akv-api.md §1.2, §1.6). A backup holds every version of a key with
// its material, sealed as a compact JWE (dir, A256GCM) under a key only the emulator holds.
// Vault blobs carry Azure's "&AzureKeyVaultKeyBackupV1.microsoft.com" prefix; Managed HSM
// blobs are the bare JWE. Restore brings back every version with its original id, in the
// same subscription and the same kind of service.

const (
	vaultBackupPrefix = "&AzureKeyVaultKeyBackupV1.microsoft.com"
	maxBackupVersions = 500
)

// backupPayload is what a backup seals.
type backupPayload struct {
	Format       int       `json:"format"`
	Kind         string    `json:"kind"` // "vault" or "hsm"
	Subscription string    `json:"subscription"`
	Location     string    `json:"location"`
	Key          *keyEntry `json:"key"`
}

// backupKey serves POST /keys/{name}/backup.
func (e *Emulator) backupKeyOp(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	v := rc.v
	v.mu.Lock()
	e.sweep(rc)
	k, _, kerr := v.lookup(rc, rt.name, "")
	var raw []byte
	var err error
	if kerr == nil {
		if len(k.Versions) > maxBackupVersions {
			kerr = badParam("The key %s has %d versions; a backup can hold at most %d.", k.Name, len(k.Versions), maxBackupVersions)
		} else {
			raw, err = json.Marshal(backupPayload{Format: 1, Kind: v.backupKind(), Subscription: v.sub.id, Location: v.location, Key: k})
		}
	}
	v.mu.Unlock()
	if kerr != nil {
		return 0, nil, kerr
	}
	if err != nil {
		return 0, nil, internalError(err)
	}
	blob, err := e.sealBackup(v, raw)
	if err != nil {
		return 0, nil, internalError(err)
	}
	return http.StatusOK, map[string]string{"value": b64url(blob)}, nil
}

func (v *vault) backupKind() string {
	if v.kind == kindHSM {
		return "hsm"
	}
	return "vault"
}

// backupKid names the emulator's backup key in JWE headers.
func (e *Emulator) backupKid(v *vault) string {
	if v.kind == kindHSM {
		return "backup-protection-key"
	}
	sum := sha256.Sum256(e.backupKey)
	return stableGUID(string(sum[:]))
}

// sealBackup encrypts a payload into the blob format of the vault's kind.
func (e *Emulator) sealBackup(v *vault, payload []byte) ([]byte, error) {
	hdr, _ := json.Marshal(map[string]string{"alg": "dir", "enc": "A256GCM", "kid": e.backupKid(v)})
	protected := b64url(hdr)
	block, err := aes.NewCipher(e.backupKey)
	if err != nil {
		return nil, err
	}
	gcm, _ := cipher.NewGCM(block)
	iv := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(iv)
	sealed := gcm.Seal(nil, iv, payload, []byte(protected))
	ct, tag := sealed[:len(payload)], sealed[len(payload):]
	jwe := protected + ".." + b64url(iv) + "." + b64url(ct) + "." + b64url(tag)
	if v.kind == kindHSM {
		return []byte(jwe), nil
	}
	return []byte(vaultBackupPrefix + jwe), nil
}

var errBadBackup = errors.New("malformed backup")

// openBackup reverses sealBackup.
func (e *Emulator) openBackup(blob []byte) (*backupPayload, error) {
	jwe, _ := bytes.CutPrefix(blob, []byte(vaultBackupPrefix))
	parts := strings.Split(string(jwe), ".")
	if len(parts) != 5 || parts[1] != "" {
		return nil, errBadBackup
	}
	iv, err1 := decodeB64(parts[2])
	ct, err2 := decodeB64(parts[3])
	tag, err3 := decodeB64(parts[4])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, errBadBackup
	}
	block, err := aes.NewCipher(e.backupKey)
	if err != nil {
		return nil, err
	}
	gcm, _ := cipher.NewGCM(block)
	if len(iv) != gcm.NonceSize() {
		return nil, errBadBackup
	}
	plain, err := gcm.Open(nil, iv, append(ct, tag...), []byte(parts[0]))
	if err != nil {
		return nil, errBadBackup
	}
	var p backupPayload
	if err := json.Unmarshal(plain, &p); err != nil || p.Key == nil || len(p.Key.Versions) == 0 {
		return nil, errBadBackup
	}
	return &p, nil
}

// restoreKey serves POST /keys/restore.
func (e *Emulator) restoreKey(rc *reqCtx, rt kvRoute, body []byte) (int, any, *kvErr) {
	var in struct {
		Value string `json:"value"`
	}
	if err := decodeBody(body, &in); err != nil {
		return 0, nil, err
	}
	blob, err := decodeB64(in.Value)
	if err != nil || in.Value == "" {
		return 0, nil, badParam("The parameter 'value' must be a base64url key backup.")
	}
	p, err := e.openBackup(blob)
	if err != nil {
		return 0, nil, badParam("The backup blob is invalid or corrupted and cannot be restored.")
	}
	v := rc.v
	switch {
	case p.Kind != v.backupKind():
		return 0, nil, badParam("The backup blob was taken from a %s and cannot be restored into a %s.", kindLabel(p.Kind), v.kindName())
	case p.Subscription != v.sub.id:
		return 0, nil, badParam("The backup blob belongs to another subscription; keys can be restored only within the subscription they were backed up from.")
	case strings.HasSuffix(p.Key.latest().Kty, "-HSM") && !v.premium():
		return 0, nil, hsmRequired()
	}
	k := p.Key
	k.AvailableAt = time.Time{} // a restored key is available at once
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	lname := strings.ToLower(k.Name)
	if v.keys[lname] != nil || v.nameFree(rc, k.Name) != nil {
		return 0, nil, conflict("", "There was a conflict restoring the key '%s'. This can happen if either: a second key "+
			"with the same name was created after the first key was deleted; the key was purged and the purge has not "+
			"completed yet; or the key is being restored concurrently. Please perform operations against a key in a "+
			"sequential manner.", rc.kid(k.Name, k.latest().ID))
	}
	for _, kv := range k.Versions {
		if v.kind == kindVault && kv.HSMPlatform == "" {
			kv.HSMPlatform = "0"
		}
	}
	v.addKey(k)
	e.changed()
	return http.StatusOK, rc.bundle(k.Name, k.latest()), nil
}

func kindLabel(kind string) string {
	if kind == "hsm" {
		return "managed hsm"
	}
	return "vault"
}

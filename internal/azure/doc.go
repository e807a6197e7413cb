// Package azure connects Keyward to Azure Key Vault (Standard and Premium) and Azure
// Managed HSM with the official Azure SDK for Go: azidentity signs in with a client
// secret or certificate, armkeyvault discovers vaults and reads their properties, and
// azkeys works the keys, with Key Vault's challenge-resource verification on. It
// implements keyward.CloudConnector and keyward.CloudVault.
//
// # One transport per link
//
// Every SDK client of a credential and link shares one http.Transport built from the
// link's TLS settings: custom CA roots, a client certificate, host verification off (the
// chain is still verified) and an HTTPS proxy reached with CONNECT. That is also how
// Keyward reaches its emulator (internal/akvemu): its proxy address and its CA.
//
// # Errors
//
// Azure's errors become *keyward.Error with Keyward's code by HTTP status (404 ENOTFOUND,
// 409 ECONFLICT, 403 EFORBIDDEN, 401 EUNAUTHENTICATED, 400 EINVALID, 429 ERATELIMIT,
// 5xx EUNAVAILABLE) and a message that starts with Azure's code and message, e.g.
// "Azure: Forbidden: Hardware key operation not allowed on standard vault". A refused
// sign-in is EUNAUTHENTICATED with Entra's AADSTS reason; timeouts, resets, DNS and TLS
// failures are EUNAVAILABLE. No secret ever enters an error or a log.
//
// # Throttling
//
// The connector keeps Azure's documented budget (akv-api.md §6.1) per vault and per
// subscription, per window, weighted by key type and protection, and shared by every
// vault client it opened: a caller waits for budget instead of being refused. Requests
// are charged when they complete, which is never before Azure saw them, so the windows
// Azure counts never hold more than Keyward admitted. A key whose type Keyward has not
// seen yet is charged as the costliest the vault can hold; answers teach the real type.
// Managed HSM is not throttled by Azure; the requests in flight to one are capped.
//
// # Retries
//
// azcore's retry policy is off; the connector retries itself. A 429 is retried after its
// Retry-After (or retry-after-ms), or else after 1, 2, 4, 8 and 16 seconds, and meanwhile
// the vault's budget is held for every caller; a transient failure (5xx, 408, timeout,
// reset, refused connection) is retried a bounded number of times with jittered
// exponential backoff. Then the error is returned, with RetryAfter when known, for the
// caller's durable job to try later.
//
// Reads, listings, updates and backups are idempotent. Delete, recover and purge converge:
// when a retry finds the work already done (404 after an attempt whose answer was lost),
// they report success, and DeleteKey and RecoverKey wait until Azure shows the change.
// Create, import and rotate are retried too, as azcore would: if the lost answer hid a
// success, the retry makes one more version of the same name, and the one returned is the
// latest. The earlier one stays as an older version (for an import, with the same
// material); a sync lists it like any other version. Callers that must not leave such a
// version should, before re-running a failed create in a new job, list the name's
// versions. A retried restore that meets 409 may be meeting its own lost success; the
// error says so, and the caller should read the key before restoring again.
package azure

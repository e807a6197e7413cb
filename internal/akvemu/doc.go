// Package akvemu emulates the parts of Azure that Keyward uses: Microsoft Entra's token
// endpoint, Azure Resource Manager's listing of key vaults and managed HSMs, and the Key
// Vault / Managed HSM keys data plane, at Azure's real host names, over HTTPS or through an
// HTTP CONNECT proxy, faithfully enough that the official Azure SDK for Go works against it
// unmodified (challenge-resource verification included).
//
// The emulator is one value, *Emulator, built from a Config. It serves every emulated host
// on one listener (Serve), or can be mounted as an http.Handler (Handler) that routes by the
// request's Host. Its own certificate authority issues a leaf per server name; clients
// trust CACertPEM. DirectClient and ProxyClient return HTTP clients wired to reach it for
// tests. See docs/azure-emulator.md for the command and the admin API.
//
// The package shares no code with Keyward's Azure connector: they meet over HTTP only.
package akvemu

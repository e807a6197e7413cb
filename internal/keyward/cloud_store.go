package keyward

// CloudTx stores cloud credentials, Azure links, virtual keys' Azure side and escrowed
// backups. Secrets (a credential's secret, a link's TLS client key, escrowed backups) are
// stored sealed, as given.
type CloudTx interface {
	// CreateCloudCredential returns ECONFLICT when the name is taken in the account.
	CreateCloudCredential(c *CloudCredential, sealedSecret []byte) error
	GetCloudCredential(accountID, id string) (*CloudCredential, error)
	// CloudCredentialSecret returns the sealed secret.
	CloudCredentialSecret(accountID, id string) ([]byte, error)
	ListCloudCredentials(accountID string, p Page) ([]CloudCredential, error) // by name
	// UpdateCloudCredential writes the credential; a nil sealedSecret keeps the secret.
	UpdateCloudCredential(c *CloudCredential, sealedSecret []byte) error
	DeleteCloudCredential(accountID, id string) error
	// CountCredentialLinks counts the Azure links that use a credential.
	CountCredentialLinks(accountID, credentialID string) (int, error)

	// PutAzureLink creates or replaces a group's link; a nil sealedTLSKey keeps the key.
	PutAzureLink(l *AzureLink, sealedTLSKey []byte) error
	GetAzureLink(accountID, groupID string) (*AzureLink, error)
	// AzureLinkTLSKey returns the sealed TLS client key, or ENOTFOUND when there is none.
	AzureLinkTLSKey(accountID, groupID string) ([]byte, error)
	ListAzureLinks(accountID string) ([]AzureLink, error) // by group id
	DeleteAzureLink(accountID, groupID string) error

	// GetCloudObject finds the virtual key of one Azure key version in a group.
	GetCloudObject(accountID, groupID, keyName, version string) (*Object, error)
	// ListCloudObjects returns a group's virtual keys of one Azure key ("" for every key),
	// by key name and creation time.
	ListCloudObjects(accountID, groupID, keyName string) ([]Object, error)
	// DeleteCloudObject removes the virtual key of one Azure key version, with its tags
	// (ENOTFOUND when there is none). Plain objects are never deleted this way.
	DeleteCloudObject(accountID, groupID, keyName, version string) error

	// PutEscrow stores (or replaces) a key's escrowed backup.
	PutEscrow(e *Escrow) error
	GetEscrow(accountID, groupID, keyName string) (*Escrow, error)
	DeleteEscrow(accountID, groupID, keyName string) error
}

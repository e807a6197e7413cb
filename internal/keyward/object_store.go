package keyward

// ObjectTx stores security objects, their sealed material and their links.
type ObjectTx interface {
	// CreateObject stores an object and its sealed material (nil for none). It returns
	// ECONFLICT when the name is taken in the account.
	CreateObject(o *Object, sealed []byte) error
	GetObject(accountID, id string) (*Object, error)
	GetObjectByName(accountID, name string) (*Object, error)
	// ObjectMaterial returns the sealed material, or ENOTFOUND when there is none (destroyed).
	ObjectMaterial(accountID, id string) ([]byte, error)
	// UpdateObject writes the object's mutable fields (name, description, ops, tags, dates,
	// state) and returns ECONFLICT on a name clash.
	UpdateObject(o *Object) error
	// DestroyMaterial removes the sealed material for good.
	DestroyMaterial(accountID, id string) error
	// ListObjects returns one page of objects by name.
	ListObjects(f ObjectFilter) ([]Object, error)
	// ObjectNamesWithPrefix returns the names in the account that start with prefix.
	ObjectNamesWithPrefix(accountID, prefix string) ([]string, error)
	// CountGroupObjects counts the objects in a group (a group with objects cannot be deleted).
	CountGroupObjects(accountID, groupID string) (int, error)

	CreateLink(l *Link) error
	// ObjectLinks returns the links where the object is source or target, oldest first.
	ObjectLinks(accountID, objectID string) ([]Link, error)
}

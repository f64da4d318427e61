package auditverify

// RegistryEntry is one entry of a signer or purger registry (§12.1, §12.3): a key registered to an individual.
type RegistryEntry struct {
	PrintedName string `json:"printed_name"`
	UserID      string `json:"user_id"`
	KeyID       string `json:"key_id"`
	PublicKey   string `json:"public_key"`
}

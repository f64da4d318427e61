package auditverify

// SetDecompressedLimit lowers the decompressed size limit of .gz files for a test; it returns a restore func.
func SetDecompressedLimit(n int64) func() {
	old := decompressedLimit
	decompressedLimit = n
	return func() { decompressedLimit = old }
}

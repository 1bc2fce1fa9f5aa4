package workspace

// ParseSize reads a byte size as max_log does: an integer, or a string
// such as "64MB" (K, M, G and T count in powers of 1024).
func ParseSize(s string) (int64, error) { return parseSize(s) }

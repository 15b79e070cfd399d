package grip

// WithTimeout lets the external tests (grip_test) bound a publish as the
// package's own tests do.
var WithTimeout = withTimeout

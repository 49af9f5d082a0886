//! Label and field selectors: parse, print and match.

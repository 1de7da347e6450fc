"""Property-manager pages: pay many 户号 in one payment."""

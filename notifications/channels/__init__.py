"""Ways a message reaches a person: one module per channel; only these import a provider's SDK."""

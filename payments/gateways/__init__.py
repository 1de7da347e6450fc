"""One adapter per payment channel; the only modules that import the channels' SDKs."""

"""The I/O edge: the registry client, credentials, listing, cache and the concurrent scan."""

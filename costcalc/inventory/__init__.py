"""The Inventory: what a scan found, its file, and the byte figures derived from it."""

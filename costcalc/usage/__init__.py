"""Usage: how often images are pulled and by whom."""

"""The bottom layer: the product's one settings object (every other package imports it)."""

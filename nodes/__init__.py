"""The graph's nodes, one module each, and the extraction/resolution/enrichment they share."""

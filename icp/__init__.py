"""The product's core: settings and the operator CLI (``icp``)."""

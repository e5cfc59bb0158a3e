"""The top layer: the operator CLI (``icp``) and the dev-server launcher."""

"""The chat graph: state and wiring."""

"""The HTTP surface: the custom FastAPI app mounted in the LangGraph server."""

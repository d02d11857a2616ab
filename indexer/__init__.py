"""The build pipeline: Markdown sections -> chunks -> embeddings -> FAISS + SQLite index on disk."""

"""Exclusion lists of infringing sites: the index matched before any request, and list files."""

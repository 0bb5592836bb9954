"""Administration: console accounts, workers and their imports, exam plans, the question bank's editing."""

"""Demo and city-scale data: a small demo city, a generated city of 310,000 workers, synthetic people."""

"""The worker's own side: PIN sign-in, practice by category, the wrong-answer book, mock exams, records."""

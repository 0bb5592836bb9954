"""Long work on the job queue: Huey (embedded SQLite or Redis), the tasks, the periodic jobs and the worker."""

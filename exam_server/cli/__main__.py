"""Allow ``python -m exam_server.cli``."""

from exam_server.cli.main import main

main()

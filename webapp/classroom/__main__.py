"""``python -m webapp.classroom migrate|purge``: the ``flask classroom`` commands without Flask's CLI."""

from __future__ import annotations

import sys

from webapp import create_app
from webapp.classroom import classroom_cli


def main(argv: list[str] | None = None) -> int:
    app = create_app()
    with app.app_context():
        classroom_cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="python -m webapp.classroom",
                           standalone_mode=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

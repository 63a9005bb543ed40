"""``python -m fastprdc``: same as the ``fastprdc`` command."""

from fastprdc.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

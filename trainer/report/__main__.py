"""``python -m trainer.report``."""

from trainer.report.build import main

if __name__ == "__main__":
    main()

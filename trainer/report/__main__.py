"""``python -m trainer.report``."""

from trainer.report.compose import main

if __name__ == "__main__":
    main()

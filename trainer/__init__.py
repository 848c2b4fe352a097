"""GRPO training with shadow oracle scoring, validation, collapse detection and reports."""

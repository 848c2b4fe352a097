"""GRPO training with shadow oracle scoring, validation, collapse detection and reports."""

__urlvr_package__ = "urlvr"  # provenance marker: see sandboxes.provenance

try:
    from sandboxes.provenance import check_siblings
except ModuleNotFoundError as exc:  # 'sandboxes' itself belongs to another project
    raise ImportError(f"urlvr: {exc}; another project's 'sandboxes' shadows urlvr's: use a separate environment") from exc
check_siblings()

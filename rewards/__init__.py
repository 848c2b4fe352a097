"""Reward functions for TRL: verifier-backed (oracle, any verifier), self-verification, and intrinsic baselines."""

__urlvr_package__ = "urlvr"  # provenance marker: see sandboxes.provenance

try:
    from sandboxes.provenance import check_siblings
except ModuleNotFoundError as exc:  # 'sandboxes' itself belongs to another project
    raise ImportError(f"urlvr: {exc}; another project's 'sandboxes' shadows urlvr's: use a separate environment") from exc
check_siblings()

from verifiers.registry import Registry

REWARDS = Registry(
    "reward",
    {
        "oracle": "rewards.verifier:OracleReward",
        "noisy_oracle": "rewards.noisy:NoisyOracleReward",
        "verifier": "rewards.verifier:VerifierReward",
        "self_verify": "rewards.self_verify:SelfVerifyReward",
        "self_certainty": "rewards.intrinsic:SelfCertaintyReward",
        "token_entropy": "rewards.intrinsic:TokenEntropyReward",
        "trajectory_entropy": "rewards.intrinsic:TrajectoryEntropyReward",
        "probability": "rewards.intrinsic:ProbabilityReward",
        "majority_vote": "rewards.majority:MajorityVoteReward",
        "combo": "rewards.combo:ComboReward",
    },
    entry_point_group="urlvr.rewards",
)

__all__ = ["REWARDS"]

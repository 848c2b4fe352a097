"""Old home of the intrinsic reward classes, kept until ``trainer/prior/sampling.py`` imports :mod:`rewards.intrinsic`.

New code imports the classes and :func:`stack_stats` from :mod:`rewards.intrinsic` and the maths from
:mod:`rewards.token_stats`.
"""

from rewards.intrinsic import (
    IntrinsicReward,
    ProbabilityReward,
    SelfCertaintyReward,
    TokenEntropyReward,
    TrajectoryEntropyReward,
    stack_stats,
)

__all__ = ["IntrinsicReward", "ProbabilityReward", "SelfCertaintyReward", "TokenEntropyReward",
           "TrajectoryEntropyReward", "stack_stats"]

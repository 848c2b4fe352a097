"""Reproduces the judge=frozen bug (docs/results.md): 2 GRPO steps with a frozen self_verify judge; prints its verdict counts.

Run: URLVR_CACHE=... python docs/results/frozen_judge_repro.py patch|nopatch (patch also prints the judge replies).
"""
import json, sys, tempfile
from trainer.config import validate_config
from trainer.prior.config import preset
from trainer.run import train
import rewards.self_verify as sv
if sys.argv[1] == "patch":
    orig = sv.SelfVerifyReward.bind
    def bind(self, trainer):
        orig(self, trainer)
        if self._judge_model is not None and getattr(self._judge_model, "is_gradient_checkpointing", False):
            self._judge_model.gradient_checkpointing_disable()
    sv.SelfVerifyReward.bind = bind
    oj = sv.SelfVerifyReward._judge
    def judge(self, prompts):
        jm = self._judge_model
        if jm is not None:
            print("DEBUG gc", getattr(jm, "is_gradient_checkpointing", None), jm.training, jm.config.use_cache, file=sys.stderr)
            jm.gradient_checkpointing_disable(); jm.config.use_cache = True
        out = oj(self, prompts)
        print("DEBUG reply", repr(prompts[:1]), repr(out[:1]), self._trainer.processing_class.padding_side, file=sys.stderr)
        return out
    sv.SelfVerifyReward._judge = judge
tmp = tempfile.mkdtemp()
cfg = validate_config({"run_dir": tmp, "task": {**preset("tiny-countdown").task_options(), "train_size": 16, "val_size": 4},
  "reward": {"name": "self_verify", "judge": "frozen", "max_judge_tokens": 40, "parse": "boxed_or_bare"}, "model": {"name_or_path": "tiny-countdown"},
  "trainer": {"max_steps": 2, "prompts_per_step": 4, "num_generations": 4, "report_to": ["none"], "val_prompts": 0, "progress": False},
  "verifiers": {"backend": "inprocess"}})
train(cfg)
for l in open(tmp + "/metrics.jsonl"):
    r = json.loads(l); print(sys.argv[1], r["step"], {k: v for k, v in r.items() if k.startswith("verifier/self_verify")})

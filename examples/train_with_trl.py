"""A plain TRL GRPO script with urlvr rewards: the countdown verifier trains; self-certainty is only logged,
with its agreement with the oracle (reward_weights 0 for it).

    python examples/train_with_trl.py --model tiny-countdown --steps 20
"""

import argparse

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

from rewards.trl import intrinsic_reward, oracle_reward, verifier_reward
from tasks import make_task
from trainer.models import resolve_model
from trainer.prior.config import preset
from trainer.policy_stats import PolicyStatsMixin


class Trainer(PolicyStatsMixin, GRPOTrainer):
    """GRPOTrainer that hands intrinsic rewards the policy's per-token statistics."""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="tiny-countdown", help="urlvr model name, HF id or local folder")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--out", default="runs/train-with-trl")
    args = p.parse_args()
    path = resolve_model(args.model)
    model, tokenizer = AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    task = make_task("countdown", preset("tiny-countdown").task_options())  # the ranges the organism was trained on
    rows = [{**row, "prompt": task.prompt(row, conversational=False)} for row in task.rows("train")]
    rewards = [verifier_reward("countdown"), intrinsic_reward("self_certainty", shadow=oracle_reward(task))]
    config = GRPOConfig(output_dir=args.out, max_steps=args.steps, num_generations=4, per_device_train_batch_size=8,
                        max_completion_length=48, learning_rate=1e-4, reward_weights=[1.0, 0.0], report_to=[],
                        logging_steps=1, use_cpu=True, gradient_checkpointing=False, save_strategy="no")
    trainer = Trainer(model=model, processing_class=tokenizer, reward_funcs=rewards, args=config,
                      train_dataset=Dataset.from_list(rows))
    trainer.train()
    for r in rewards:
        r.close()


if __name__ == "__main__":
    main()

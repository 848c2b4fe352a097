"""Policy statistics from one forward pass match a per-sequence reference computed without padding."""

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from trainer.policy_stats import compute_policy_stats


def test_stats_match_unpadded_reference():
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=2, max_position_embeddings=64)).eval()
    prompts = [[1, 2, 3, 4, 5], [6, 7], [8, 9, 10]]
    completions = [[11, 12, 13], [14, 15, 16, 17, 18], []]
    stats = compute_policy_stats(model, prompts, completions, pad_id=0, temperature=0.7, micro_batch=2)
    for p, c, s in zip(prompts, completions, stats):
        assert len(s["logprobs"]) == len(c)
        if not c:
            continue
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([p + c])).logits[0, len(p) - 1 : len(p) + len(c) - 1] / 0.7
        logp = torch.log_softmax(logits, -1)
        chosen = logp.gather(-1, torch.tensor(c).unsqueeze(-1)).squeeze(-1)
        entropy = -(logp.exp() * logp).sum(-1)
        certainty = torch.logsumexp(logits, -1) - logits.mean(-1)
        torch.testing.assert_close(s["logprobs"], chosen, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(s["entropy"], entropy, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(s["self_certainty"], certainty, atol=1e-4, rtol=1e-4)

"""Continue pretraining a gptkit model on gptkit token shards with PyTorch's DistributedDataParallel —
the handoff to GPU clusters. NCCL on GPUs, Gloo on CPUs; launched by torchrun:

    npx gptkit export --model runs/main/gpt --out runs/gpt-hf                 # a GPT2LMHeadModel directory
    npx gptkit data shards --tokenizer runs/main/gpt --data corpus.jsonl --out runs/shards
    torchrun --nproc_per_node 8 recipes/torch_ddp_continue.py \\
        --model runs/gpt-hf --shards runs/shards/index.json --out runs/gpt-ddp --steps 1000
    npx gptkit chat --model runs/gpt-ddp                                      # every gptkit command reads it back

Batches are gptkit's token shards read in order: the global batch of step s holds the windows of
--block-size + 1 tokens starting at (s · global_batch + i) · block_size (i < global_batch, wrapping
around the stream), and rank r trains on rows r · B … (r + 1) · B − 1 of it (B = --batch-size per
rank). The loss is the mean next-token cross-entropy over all block_size positions of every window,
as `gptkit pretrain` computes it. AdamW (β 0.9/0.95, weight decay 0.1 on matrices), gradient clipping
at 1, linear warmup then cosine decay to lr/10: gptkit's defaults. Rank 0 logs metrics.jsonl and
writes the result with save_pretrained, with the tokenizer files of --model beside it.
"""
import argparse
import json
import math
import os
import shutil

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from transformers import GPT2LMHeadModel


def load_tokens(index_path):
    index = json.load(open(index_path))
    dtype = {'uint16': np.uint16, 'uint32': np.uint32}[index['dtype']]
    folder = os.path.dirname(os.path.abspath(index_path))
    parts = []
    for shard in index['shards']:
        part = np.fromfile(os.path.join(folder, shard['file']), dtype=dtype)
        if len(part) != shard['tokens']:
            raise SystemExit(f"{shard['file']}: {len(part)} tokens, index.json says {shard['tokens']}")
        parts.append(part)
    return np.concatenate(parts).astype(np.int64), index


def global_windows(tokens, step, global_batch, block):
    """The (global_batch, block + 1) windows of a step: consecutive, in stream order."""
    n = len(tokens) - block - 1
    if n <= 0:
        raise SystemExit(f'the shards hold {len(tokens)} tokens: fewer than one window of {block + 1}')
    starts = [((step * global_batch + i) * block) % n for i in range(global_batch)]
    return np.stack([tokens[s:s + block + 1] for s in starts])


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model', required=True, help='a GPT2LMHeadModel directory (gptkit export --model CK --out DIR)')
    p.add_argument('--shards', required=True, help="gptkit token shards' index.json")
    p.add_argument('--out', required=True)
    p.add_argument('--steps', type=int, default=1000)
    p.add_argument('--batch-size', type=int, default=8, help='windows per rank and step')
    p.add_argument('--block-size', type=int, default=None, help="tokens a window (default: the model's context)")
    p.add_argument('--lr', type=float, default=3e-4)
    p.add_argument('--warmup-steps', type=int, default=None)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--dump-first-batch', default=None, help="write step 0's global batch and its loss here (JSON), for checking against gptkit")
    p.add_argument('--score-ids', default=None, help='after training, log-probabilities of these token ids (JSON list) go to OUT/score.json')
    a = p.parse_args()

    use_cuda = torch.cuda.is_available()
    dist.init_process_group('nccl' if use_cuda else 'gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}') if use_cuda else torch.device('cpu')
    torch.manual_seed(a.seed)

    tokens, index = load_tokens(a.shards)
    model = GPT2LMHeadModel.from_pretrained(a.model).to(device)
    if index['vocab_size'] > model.config.vocab_size:
        raise SystemExit(f"the shards' vocabulary ({index['vocab_size']}) is larger than the model's ({model.config.vocab_size})")
    block = a.block_size or model.config.n_positions
    ddp = DDP(model, device_ids=[device.index] if use_cuda else None)
    decay = [q for q in ddp.parameters() if q.dim() >= 2]
    rest = [q for q in ddp.parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': rest, 'weight_decay': 0.0}], lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    warmup = a.warmup_steps if a.warmup_steps is not None else min(100, max(1, a.steps // 10))

    def lr_at(step):
        if step < warmup:
            return a.lr * (step + 1) / warmup
        t = (step - warmup) / max(1, a.steps - warmup)
        return a.lr / 10 + (a.lr - a.lr / 10) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    if rank == 0:
        os.makedirs(a.out, exist_ok=True)
        log = open(os.path.join(a.out, 'metrics.jsonl'), 'w')
    ddp.train()
    for step in range(a.steps):
        windows = global_windows(tokens, step, a.batch_size * world, block)
        mine = torch.from_numpy(windows[rank * a.batch_size:(rank + 1) * a.batch_size]).to(device)
        x, y = mine[:, :-1], mine[:, 1:]
        for g in opt.param_groups:
            g['lr'] = lr_at(step)
        logits = ddp(x).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()  # DDP all-reduces (averages) the gradients across ranks here
        norm = torch.nn.utils.clip_grad_norm_(ddp.parameters(), 1.0)
        opt.step()
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        mean /= world
        if rank == 0:
            log.write(json.dumps({'step': step + 1, 'loss': mean.item(), 'lr': lr_at(step), 'grad_norm': norm.item(), 'ranks': world}) + '\n')
            log.flush()
            if step == 0 and a.dump_first_batch:
                json.dump({'windows': windows.tolist(), 'loss': mean.item(), 'ranks': world}, open(a.dump_first_batch, 'w'))
    if rank == 0:
        log.close()
        model.save_pretrained(a.out)
        for f in ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt']:
            if os.path.exists(os.path.join(a.model, f)):
                shutil.copy(os.path.join(a.model, f), os.path.join(a.out, f))
        if a.score_ids:
            ids = torch.tensor([json.load(open(a.score_ids))], device=device)
            model.eval()
            with torch.no_grad():
                lp = torch.log_softmax(model(ids).logits[0].double(), -1)
            json.dump([lp[t, ids[0, t + 1]].item() for t in range(ids.size(1) - 1)], open(os.path.join(a.out, 'score.json'), 'w'))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    main()

#!/usr/bin/python3
"""Make the interop goldens (run with Debian's python3: /usr/bin/python3 tests/golden/interop/make_goldens.py).

Debian ships neither the `safetensors` nor the `transformers` Python package, so this script writes
safetensors bytes itself, following the reference implementation's serializer rule for rule
(safetensors/src/tensor.rs `prepare`): tensors sorted by descending dtype alignment then by name,
compact JSON with "__metadata__" first, header padded with spaces to a multiple of 8. Tensor values
and the float16/bfloat16 roundings come from torch. (The TypeScript tests also check the byte
vectors published in the reference's own test suite.)

Outputs (small, committed):
  mixed.safetensors          every dtype gptkit reads, incl. special floats and a zero-size tensor
  tiny-gpt2/config.json      a GPT-2 config as the hub's gpt2 config.json spells it
  tiny-gpt2/model.safetensors  random tiny GPT-2 weights in HF's layout: Conv1D (in, out) weights,
                             bare hub names (wte.weight, h.0....), the causal-mask buffers
                             h.N.attn.bias / h.N.attn.masked_bias, no lm_head (tied)
  tiny-gpt2-conv1d.json      x, and y = x @ W + b computed by torch for each Conv1D of layer 0,
                             so the tests can check the transposition into (out, in)
"""
import json
import math
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))

# Reference dtype order (increasing alignment), names and torch types.
DTYPES = [
    ("BOOL", torch.bool), ("U8", torch.uint8), ("I8", torch.int8), ("I16", torch.int16),
    ("F16", torch.float16), ("BF16", torch.bfloat16), ("I32", torch.int32),
    ("F32", torch.float32), ("F64", torch.float64), ("I64", torch.int64),
]
RANK = {name: i for i, (name, _) in enumerate(DTYPES)}
NAME_OF = {t: name for name, t in DTYPES}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        # numpy has no bfloat16: reinterpret the 16-bit patterns as int16.
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().tobytes()  # x86: little-endian already


def serialize(tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-RANK[NAME_OF[kv[1].dtype]], kv[0]))
    parts = []
    if metadata:
        parts.append('"__metadata__":' + json.dumps(dict(sorted(metadata.items())), separators=(",", ":")))
    offset = 0
    blobs = []
    for name, t in items:
        b = tensor_bytes(t)
        info = {"dtype": NAME_OF[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        parts.append(json.dumps(name) + ":" + json.dumps(info, separators=(",", ":")))
        offset += len(b)
        blobs.append(b)
    header = ("{" + ",".join(parts) + "}").encode("utf-8")
    header += b" " * ((8 - len(header) % 8) % 8)
    return struct.pack("<Q", len(header)) + header + b"".join(blobs)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def make_mixed():
    g = torch.Generator().manual_seed(1234)
    special = [0.0, -0.0, 1.0, -2.5, 1 / 3, math.pi, 65504.0, 65520.0, 65519.99, 1e-8, 6e-8, 2.98e-8,
               3e-5, 6.1e-5, 1e38, -3.4e38, float("inf"), float("-inf"), float("nan"), 1.00048828125,
               1.0009765625, 1.001953125, 0.1, -0.1]
    x = torch.cat([torch.tensor(special, dtype=torch.float32), torch.randn(40, generator=g) * 3]).reshape(4, 16)
    tensors = {
        "x.f32": x,
        "x.f16": x.half(),
        "x.f16_as_f32": x.half().float(),
        "x.bf16": x.bfloat16(),
        "x.bf16_as_f32": x.bfloat16().float(),
        "x.f64": x.double() / 3,
        "ids.i64": torch.arange(-3, 9, dtype=torch.int64).reshape(3, 4) * 1000000007,
        "ids.i32": torch.arange(-6, 6, dtype=torch.int32) * 7,
        "mask.bool": torch.tensor([True, False, False, True, True]),
        "bytes.u8": torch.arange(250, 256, dtype=torch.int64).to(torch.uint8),
        "bytes.i8": torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8),
        "short.i16": torch.tensor([-32768, -2, 0, 3, 32767], dtype=torch.int16),
        "empty": torch.zeros(0, 3),
        "scalar": torch.tensor(2.5),
        "0": torch.tensor([7.0, 8.0]),  # an integer-like name: JS objects would reorder it
    }
    write(os.path.join(HERE, "mixed.safetensors"), serialize(tensors, {"format": "pt", "source": "gptkit golden"}))


def make_tiny_gpt2():
    V, T, C, L, H = 37, 8, 16, 2, 2
    g = torch.Generator().manual_seed(42)

    def rnd(*shape):
        return torch.randn(*shape, generator=g) * 0.2

    sd = {"wte.weight": rnd(V, C), "wpe.weight": rnd(T, C)}
    causal = torch.tril(torch.ones(T, T, dtype=torch.float32)).view(1, 1, T, T)
    for i in range(L):
        p = f"h.{i}."
        sd[p + "ln_1.weight"] = 1 + rnd(C)
        sd[p + "ln_1.bias"] = rnd(C)
        sd[p + "attn.bias"] = causal.clone()          # causal-mask buffer, not a parameter
        sd[p + "attn.masked_bias"] = torch.tensor(-1e4)  # older transformers saved this too
        sd[p + "attn.c_attn.weight"] = rnd(C, 3 * C)   # Conv1D: (in, out)
        sd[p + "attn.c_attn.bias"] = rnd(3 * C)
        sd[p + "attn.c_proj.weight"] = rnd(C, C)
        sd[p + "attn.c_proj.bias"] = rnd(C)
        sd[p + "ln_2.weight"] = 1 + rnd(C)
        sd[p + "ln_2.bias"] = rnd(C)
        sd[p + "mlp.c_fc.weight"] = rnd(C, 4 * C)
        sd[p + "mlp.c_fc.bias"] = rnd(4 * C)
        sd[p + "mlp.c_proj.weight"] = rnd(4 * C, C)
        sd[p + "mlp.c_proj.bias"] = rnd(C)
    sd["ln_f.weight"] = 1 + rnd(C)
    sd["ln_f.bias"] = rnd(C)
    out = os.path.join(HERE, "tiny-gpt2")
    write(os.path.join(out, "model.safetensors"), serialize(sd, {"format": "pt"}))
    config = {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": V - 1,
        "embd_pdrop": 0.1,
        "eos_token_id": V - 1,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_ctx": T,
        "n_embd": C,
        "n_head": H,
        "n_layer": L,
        "n_positions": T,
        "resid_pdrop": 0.1,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
        "vocab_size": V,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")

    # HF's Conv1D computes y = x @ W + b with W stored (in, out).
    checks = {}
    for name in ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]:
        w, b = sd[f"h.0.{name}.weight"], sd[f"h.0.{name}.bias"]
        x = torch.randn(w.shape[0], generator=g)
        y = torch.addmm(b.unsqueeze(0), x.unsqueeze(0), w).squeeze(0)
        checks[f"transformer.h.0.{name}"] = {"x": x.tolist(), "y": y.tolist()}
    with open(os.path.join(HERE, "tiny-gpt2-conv1d.json"), "w") as f:
        json.dump(checks, f)
        f.write("\n")


if __name__ == "__main__":
    make_mixed()
    make_tiny_gpt2()
    print("wrote goldens to", HERE)

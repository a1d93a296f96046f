"""Stack smoke checks: the first minutes of a fine-tuning run, on a model small enough to
build from a config in a second, with nothing downloaded.

Each check runs only when the packages it exercises are installed, in its own process:

* torch: a tensor op and a backward pass;
* datasets: a dataset from a dict, mapped;
* transformers: a tiny randomly initialised causal LM of the lock's model family (the
  ``--model`` preset recorded in the lock header, else Llama), forward and backward;
* peft: a LoRA adapter on it (only the adapter trains), forward and backward;
* accelerate: ``Accelerator.prepare`` and one optimizer step;
* transformers + accelerate: one ``Trainer`` step on a few in-memory rows (the LoRA model
  when peft is installed);
* trl: one ``SFTTrainer`` step with a tokenizer built in memory.

With an NVIDIA GPU also: the GPU's architecture is one this torch has kernels for, a bf16
matmul, and where installed a bitsandbytes 4-bit linear forward, a flash-attn forward and a
triton kernel compile.  Without one these are reported as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SMOKE_TIMEOUT = 900.0

# --model preset -> transformers model_type of its text-only causal LM
MODEL_TYPES = {
    "gemma": "gemma",
    "gemma2": "gemma2",
    "gemma3": "gemma3_text",
    "gemma3n": "gemma3n_text",
    "gemma4": "gemma4_text",
    "llama3": "llama",
    "llama3.2-vision": "llama",  # the vision model's text stack is Llama's
    "llama4": "llama4_text",
    "mistral": "mistral",
    "mistral3": "mistral",  # Mistral 3's text stack
    "qwen2.5": "qwen2",
    "qwen3": "qwen3",
    "phi": "phi",
    "phi3": "phi3",
}

# what a 2-layer config of these types needs besides the common tiny sizes
MODEL_EXTRA = {
    "gemma3n_text": {"num_kv_shared_layers": 0},  # the default shares the KV of 15 layers
    "llama4_text": {"num_local_experts": 2, "interleave_moe_layer_step": 1, "no_rope_layers": [1, 1]},
}


@dataclass(frozen=True)
class Smoke:
    name: str
    needs: tuple[str, ...]  # distributions that must be installed
    code: str
    gpu: bool = False


_MODEL = '''
import os, torch
from transformers import AutoConfig, AutoModelForCausalLM
torch.manual_seed(0)
MODEL_TYPE = {model_type!r}
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TINY = dict(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=64,
            pad_token_id=0, bos_token_id=3, eos_token_id=2)
config = AutoConfig.for_model(MODEL_TYPE, **TINY, **{extra!r})
model = AutoModelForCausalLM.from_config(config)
ids = torch.randint(4, 128, (2, 8))
'''

_LORA = '''
from peft import LoraConfig, get_peft_model
targets = sorted({{n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                  if isinstance(m, torch.nn.Linear) and "lm_head" not in n}})
model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=targets, task_type="CAUSAL_LM"))
trainable = [n for n, p in model.named_parameters() if p.requires_grad]
assert trainable and all("lora_" in n for n in trainable), f"trainable parameters that are not LoRA: {{trainable[:3]}}"
'''

_TOKENIZER = '''
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
words = ["<pad>", "<unk>", "<eos>", "<bos>"] + [f"w{{i}}" for i in range(124)]
raw = Tokenizer(models.WordLevel({{w: i for i, w in enumerate(words)}}, unk_token="<unk>"))
raw.pre_tokenizer = pre_tokenizers.Whitespace()
tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<pad>", unk_token="<unk>",
                                    eos_token="<eos>", bos_token="<bos>")
'''

_ARGS = '''
import inspect, tempfile
def training_args(cls, **extra):
    params = inspect.signature(cls.__init__).parameters
    kw = dict(output_dir=tempfile.mkdtemp(dir="."), max_steps=1, per_device_train_batch_size=2,
              report_to="none", save_strategy="no", logging_steps=1, disable_tqdm=True, **extra)
    if "use_cpu" in params:
        kw["use_cpu"] = DEVICE == "cpu"
    elif "no_cuda" in params:
        kw["no_cuda"] = DEVICE == "cpu"
    return cls(**{{k: v for k, v in kw.items() if k in params or k == "output_dir"}})
'''


def checks(model_type: str) -> list[Smoke]:
    fmt = {"model_type": model_type, "extra": MODEL_EXTRA.get(model_type, {})}
    model = _MODEL.format(**fmt)
    return [
        Smoke("torch: tensor and backward", ("torch",), '''
import torch
x = torch.randn(4, 3, requires_grad=True)
(x @ torch.randn(3, 2)).sum().backward()
assert x.grad is not None and tuple(x.grad.shape) == (4, 3)
'''),
        Smoke("datasets: from a dict", ("datasets",), '''
from datasets import Dataset
ds = Dataset.from_dict({"text": ["a b", "c"], "label": [0, 1]})
ds = ds.map(lambda row: {"n": len(row["text"])})
assert ds.num_rows == 2 and ds[0]["n"] == 3, ds[0]
'''),
        Smoke(f"transformers: tiny {model_type} forward+backward", ("torch", "transformers"), model + '''
out = model(input_ids=ids, labels=ids)
out.loss.backward()
assert torch.isfinite(out.loss), out.loss
assert any(p.grad is not None for p in model.parameters())
'''),
        Smoke("peft: LoRA adapter forward+backward", ("torch", "transformers", "peft"), model + _LORA.format() + '''
out = model(input_ids=ids, labels=ids)
out.loss.backward()
missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
assert not missing, f"LoRA parameters without a gradient: {missing[:3]}"
'''),
        Smoke("accelerate: prepare and one optimizer step", ("torch", "accelerate"), '''
import torch
from accelerate import Accelerator
accelerator = Accelerator(cpu=not torch.cuda.is_available())
net = torch.nn.Linear(4, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
net, opt = accelerator.prepare(net, opt)
before = next(net.parameters()).detach().clone()
accelerator.backward(net(torch.randn(3, 4, device=accelerator.device)).sum())
opt.step()
assert not torch.equal(before, next(net.parameters()).detach())
'''),
        Smoke("transformers: one Trainer step", ("torch", "transformers", "accelerate"), model + '''
import importlib.util
if importlib.util.find_spec("peft") is not None:
''' + _indent(_LORA.format()) + _ARGS.format() + '''
from transformers import Trainer, TrainingArguments
rows = [{"input_ids": ids[i % 2].tolist(), "labels": ids[i % 2].tolist(), "attention_mask": [1] * 8} for i in range(4)]
if importlib.util.find_spec("datasets") is not None:
    from datasets import Dataset
    rows = Dataset.from_list(rows)
trainer = Trainer(model=model, args=training_args(TrainingArguments), train_dataset=rows)
result = trainer.train()
assert result.global_step == 1, result
'''),
        Smoke("trl: one SFTTrainer step", ("torch", "transformers", "trl", "datasets"), model + _TOKENIZER.format() + _ARGS.format() + '''
import inspect
from datasets import Dataset
try:
    from trl import SFTConfig as Config
except ImportError:
    from transformers import TrainingArguments as Config
from trl import SFTTrainer
data = Dataset.from_dict({"text": ["w1 w2 w3 w4 w5", "w6 w7 w8", "w9 w10 w11 w12", "w13 w14"]})
params = inspect.signature(Config.__init__).parameters
extra = {"max_length": 16} if "max_length" in params else {"max_seq_length": 16} if "max_seq_length" in params else {}
if "dataset_text_field" in params:
    extra["dataset_text_field"] = "text"
args = training_args(Config, **extra)
kwargs = {"processing_class": tokenizer} if "processing_class" in inspect.signature(SFTTrainer.__init__).parameters else {"tokenizer": tokenizer}
trainer = SFTTrainer(model=model, args=args, train_dataset=data, **kwargs)
result = trainer.train()
assert result.global_step == 1, result
'''),
        # -- with an NVIDIA GPU only --------------------------------------------------------
        Smoke("cuda: GPU architecture in torch's kernels", ("torch",), '''
import torch
assert torch.cuda.is_available(), f"torch {torch.__version__} sees no GPU (built for CUDA {torch.version.cuda})"
major, minor = torch.cuda.get_device_capability(0)
archs = torch.cuda.get_arch_list()
native = [a for a in archs if a.startswith("sm_") and a[3:].rstrip("a").isdigit()
          and int(a[3:].rstrip("a")) // 10 == major and int(a[3:].rstrip("a")) % 10 <= minor]
ptx = [a for a in archs if a.startswith("compute_") and int(a[8:].rstrip("a")) <= major * 10 + minor]
assert native or ptx, f"{torch.cuda.get_device_name(0)} is sm_{major}{minor}; this torch has kernels for {' '.join(archs)}"
''', gpu=True),
        Smoke("cuda: bf16 matmul", ("torch",), '''
import torch
a = torch.randn(512, 512, device="cuda", dtype=torch.bfloat16)
c = a @ a
torch.cuda.synchronize()
assert torch.isfinite(c.float()).all()
''', gpu=True),
        Smoke("bitsandbytes: 4-bit linear forward", ("torch", "bitsandbytes"), '''
import torch, bitsandbytes as bnb
layer = bnb.nn.Linear4bit(64, 64, compute_dtype=torch.bfloat16, quant_type="nf4").cuda()
y = layer(torch.randn(2, 64, device="cuda", dtype=torch.bfloat16))
torch.cuda.synchronize()
assert tuple(y.shape) == (2, 64) and torch.isfinite(y.float()).all()
''', gpu=True),
        Smoke("flash-attn: forward", ("torch", "flash-attn"), '''
import torch
from flash_attn import flash_attn_func
q = torch.randn(1, 16, 4, 64, device="cuda", dtype=torch.bfloat16)
out = flash_attn_func(q, q, q, causal=True)
torch.cuda.synchronize()
assert tuple(out.shape) == (1, 16, 4, 64) and torch.isfinite(out.float()).all()
''', gpu=True),
        Smoke("triton: kernel compile", ("torch", "triton"), '''
import torch, triton, triton.language as tl

@triton.jit
def add(x, y, out, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(out + offs, tl.load(x + offs, mask=mask) + tl.load(y + offs, mask=mask), mask=mask)

x = torch.randn(1000, device="cuda")
out = torch.empty_like(x)
add[(triton.cdiv(1000, 256),)](x, x, out, 1000, BLOCK=256)
torch.cuda.synchronize()
assert torch.allclose(out, 2 * x)
''', gpu=True),
    ]


def _indent(code: str) -> str:
    return "".join(f"    {line}\n" if line.strip() else "\n" for line in code.splitlines())


def model_type_for(preset: str | None) -> tuple[str, str]:
    """The model_type to build for a ``--model`` preset, and a note when it is a stand-in."""
    if preset is None:
        return "llama", ""
    found = MODEL_TYPES.get(preset.lower())
    if found is None:
        return "llama", f"no tiny config for --model {preset}; Llama stands in"
    return found, ""


def applicable(all_checks: list[Smoke], installed: set[str]) -> list[Smoke]:
    return [c for c in all_checks if set(c.needs) <= installed]


def write_scripts(all_checks: list[Smoke], directory: Path) -> None:
    """The checks as files (for --keep: rerun one by hand)."""
    directory.mkdir(parents=True, exist_ok=True)
    for number, check in enumerate(all_checks, 1):
        slug = "".join(c if c.isalnum() else "-" for c in check.name.lower()).strip("-")
        (directory / f"{number:02d}-{slug[:40]}.py").write_text(check.code.lstrip(), encoding="utf-8")

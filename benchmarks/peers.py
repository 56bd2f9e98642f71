"""This package against PyTorch on CPU, and batch-1 generation against the matrix-vector floor.

    python benchmarks/peers.py [--cells lstm gru] [--sizes 1x256 2x256] [--steps 10]
        [--repeats 5] [--warmup 2] [--length 1000] [--torch-threads N] [--json PATH]

PyTorch is optional (`pip install -e ".[bench]"`); without it the PyTorch rows
say so and the rest still runs. Every figure is a median of `--repeats`
round-robin repeats in this one process (the runs of a cell and size take
turns), so the ratios hold on a noisy machine where absolute figures drift.

Training (task `train`), the same network and work on both sides: embedding
64, the `--sizes` recurrent layers (no dropout: the default model's 0.2 costs
our step a Philox mask, about 7 ms of a 64 x 100 x 256 batch, and PyTorch's
layer has no dropout after its last layer), dense logits over the bundled corpus's
characters; batches of 64 windows of T=100 (`TrainConfig()`'s), float32; loss
the mean cross-entropy over all T positions of every row; Adam with
`TrainConfig()`'s learning rate and clipnorm (epsilon 1e-7, Keras's).
- `fit default`: the model `python cli.py fit` trains with its defaults, made
  by `build_model` and `folder.compile_model` from `TrainConfig()` (whatever
  layers and XLA setting the defaults select) and fed by fit's own data
  pipeline (`stateful.training_batches`). Timed: `model.fit` over `--steps`
  steps, no callbacks (`sampling_overhead.py` measures the sampling callback).
- `--fast-rnn` (`--no-fast-rnn` when the fast layers are the default): the same
  with the other `fast_rnn` setting.
- `PyTorch nn.LSTM` / `nn.GRU`: `nn.Embedding` -> `nn.LSTM`/`nn.GRU` (num_layers,
  batch_first) -> `nn.Linear`, on the same `--steps` batches (taken from fit's
  pipeline beforehand, as int64 tensors). Timed: `--steps` steps of
  `zero_grad`, forward, `F.cross_entropy`, `backward`, `clip_grad_norm_` per
  parameter (Keras's `clipnorm` clips each gradient on its own), `Adam.step`,
  with `torch.set_num_threads` at the machine's cores as TF uses (change it
  with `--torch-threads`: on a machine busy with other work, PyTorch's OpenMP
  threads wait for each other and its figures collapse). PyTorch's LSTM has
  two bias vectors per layer where Keras's has one; the second is zeroed and
  frozen, so both sides train the same parameters (`params`). The GRUs match
  as they are (both the reset-after form with two biases).
The PyTorch network starts from the Keras model's initial weights (gates
reordered where the two differ), so the printed loss of the first step is the
same on both sides: the forward passes compute the same function. Both Adams
take the embedding's gradient summed per row (`models/embedding.py`), clip each
gradient on its own and use epsilon 1e-7, but Keras adds epsilon to the square
root of the raw second moment and PyTorch to that of the bias-corrected one,
so updates differ where a gradient is as small as epsilon, and the losses of
the warm-up steps part: a little at learning rate 0.005, more at the default
0.008, whose first steps raise the GRU's loss (2 x 256: 4.19 then 4.31 here,
4.61 in PyTorch). The work of a step is the same either way.
`--warmup` steps run before timing; `first_s` is the first step alone, tracing
and XLA compilation included. `per_s` is tokens/s (batch x T x steps over the
median time of `--steps` steps); `vs_pytorch` = ours / PyTorch; `cores` the
median of the process's CPU seconds over the wall seconds of a timed run (all
threads: a run whose parallel code was held to one thread at a time shows about
1.0 on two cores, beside a rate near half its usual one).

Generation, prompt "ROMEO:" then `--length` characters sampled at temperature
1, untrained weights (speed does not depend on their values):
- `TextGenerator.generate` at batch 1 and 64: this package's compiled loop over
  the `fit default` model.
- `PyTorch eager loop`, batch 1: the PyTorch network above under
  `torch.inference_mode()`, one Python iteration per character as a PyTorch
  user writes it: `net(token, states)`, softmax, `torch.multinomial`, `int`,
  the token fed back with the states.
- `NumPy matvec floor`, batch 1: per token, one `x @ W` in NumPy float32 per
  weight matrix of the model (each recurrent layer's input and recurrent
  kernels, the output dense), the products no step can avoid, given as
  characters/s; `of_floor` = ours / floor, `vs_pytorch_eager` = ours / PyTorch.
- batch 64: `of_matmul` is the loop's arithmetic rate (the forward pass's matrix
  products per token) against one 1024 x 1024 float32 matrix product through TF
  (`training.matmul_gflops`, the rate `training.py` reports).
`first_s` of a generation row is its first call (our loop's XLA compilation).
"""

import argparse
import dataclasses
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As the command line does: TensorFlow's BFC allocator keeps buffers between steps.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from common import (  # noqa: E402
    matvec_floor,
    report,
    round_robin_medians,
    round_robin_with_cores,
    size_configs,
)
from training import matmul_gflops, training_flops_per_token  # noqa: E402

from keras_rnn_textgen.config import ModelConfig, TrainConfig  # noqa: E402
from keras_rnn_textgen.data.corpus import as_documents, load_corpus, split_text  # noqa: E402
from keras_rnn_textgen.data.streams import training_batches  # noqa: E402
from keras_rnn_textgen.generation.text_generator import TextGenerator  # noqa: E402
from keras_rnn_textgen.models.build import build_model, recurrent_layers  # noqa: E402
from keras_rnn_textgen.models.compile import compile_model  # noqa: E402
from keras_rnn_textgen.tokenizers.registry import build_tokenizer  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

NO_TORCH = 'torch not installed (pip install -e ".[bench]")'
PROMPT = "ROMEO:"
TORCH_LAYERS = {"lstm": "LSTM", "gru": "GRU"}


def fit_model(config: ModelConfig, train: TrainConfig) -> keras.Model:
    """The compiled model `training.fit` starts a fresh run with, for `config` and `train`."""
    model = build_model(
        config,
        seed=train.seed,
        fast=train.uses_fast_rnn(config),
        mixed_precision=train.mixed_precision,
        train=True,
    )
    compile_model(model, train, config.level)
    return model


def torch_network(config: ModelConfig, model: keras.Model) -> "torch.nn.Module":
    """`build_model`'s network in PyTorch (Embedding -> nn.LSTM/nn.GRU -> Linear), holding
    `model`'s weights, so both sides start from the same point and their first losses agree."""

    class CharRNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(config.vocab_size, config.embedding_dim)
            rnn = getattr(torch.nn, TORCH_LAYERS[config.cell])
            self.rnn = rnn(config.embedding_dim, config.units, config.layers, batch_first=True)
            self.logits = torch.nn.Linear(config.units, config.vocab_size)

        def forward(self, ids, states=None):
            x, states = self.rnn(self.embedding(ids), states)  # (batch, time, units)
            return self.logits(x), states  # (batch, time, vocab)

    net = CharRNN()
    weights = {"embedding.weight": model.get_layer("embedding").embeddings.numpy()}
    for i, layer in enumerate(recurrent_layers(model)):
        kernel, recurrent = layer.cell.kernel.numpy(), layer.cell.recurrent_kernel.numpy()
        bias = layer.cell.bias.numpy()
        if config.cell == "lstm":
            # Gates i, f, c, o on both sides. Keras has one bias per gate, PyTorch two:
            # the second is zero and frozen, so both train the same parameters.
            biases = bias, np.zeros_like(bias)
        else:
            # Keras orders the gates z, r, h and PyTorch r, z, n; both are the reset-after
            # GRU with an input and a recurrent bias (Keras's `bias` rows 0 and 1).
            def order(w):
                z, r, h = np.split(w, 3, axis=-1)
                return np.concatenate([r, z, h], axis=-1)

            kernel, recurrent, biases = order(kernel), order(recurrent), order(bias)
        weights |= {
            f"rnn.weight_ih_l{i}": kernel.T,
            f"rnn.weight_hh_l{i}": recurrent.T,
            f"rnn.bias_ih_l{i}": biases[0],
            f"rnn.bias_hh_l{i}": biases[1],
        }
    dense = model.get_layer("logits")
    weights |= {"logits.weight": dense.kernel.numpy().T, "logits.bias": dense.bias.numpy()}
    net.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(w)) for k, w in weights.items()})
    if config.cell == "lstm":
        for i in range(config.layers):
            getattr(net.rnn, f"bias_hh_l{i}").requires_grad_(False)
    return net


def torch_train_step(net: "torch.nn.Module", train: TrainConfig):
    """One PyTorch training step as `folder.compile_model`'s Adam and loss define it."""
    weights = [w for w in net.parameters() if w.requires_grad]
    optimizer = torch.optim.Adam(weights, lr=train.learning_rate, eps=1e-7)

    def step(x, y):
        optimizer.zero_grad()
        logits, _ = net(x)  # (batch, time, vocab)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
        loss.backward()
        if train.clipnorm:
            for w in weights:  # Keras's clipnorm clips each gradient on its own
                torch.nn.utils.clip_grad_norm_(w, train.clipnorm)
        optimizer.step()
        return loss.detach()

    return step


def torch_generate(net: "torch.nn.Module", prompt: list[int], length: int, seed: int) -> list[int]:
    """The eager stateful loop at batch 1: one call of `net` per character."""
    generator = torch.Generator().manual_seed(seed)
    tokens = []
    with torch.inference_mode():
        inputs, states = torch.tensor([prompt]), None  # (1, prompt length)
        for _ in range(length):
            logits, states = net(inputs, states)  # (1, time, vocab)
            probs = torch.softmax(logits[0, -1], dim=-1)  # temperature 1
            token = torch.multinomial(probs, 1, generator=generator)  # (1,)
            tokens.append(int(token))
            inputs = token.view(1, 1)
    return tokens


def first_seconds(fn) -> tuple[float, object]:
    """Wall time of one call of `fn` and what it returned."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def compare_training(config, train, ids, args) -> tuple[list[dict], keras.Model, object]:
    """Training rows of one cell and size, the `fit default` model and the PyTorch network."""
    other = dataclasses.replace(train, fast_rnn=not train.uses_fast_rnn(config))
    runs = {"fit default": train, "--fast-rnn" if other.fast_rnn else "--no-fast-rnn": other}
    dataset = training_batches(ids, train, args.steps)
    tokens = args.steps * train.batch_size * train.seq_len
    models = {name: fit_model(config, run) for name, run in runs.items()}
    # Before any step: all start from the same weights.
    torch_net = torch_network(config, models["fit default"]) if torch is not None else None
    fns, first, params, losses = {}, {}, {}, {}
    for name, model in models.items():

        def fit(steps, model=model):
            return model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)

        first[name], history = first_seconds(lambda fit=fit: fit(1))
        losses[name] = [history.history["loss"][0]]
        if args.warmup:
            losses[name].append(fit(args.warmup).history["loss"][0])
        fns[name] = lambda fit=fit: fit(args.steps)
        params[name] = model.count_params()
    peer = f"PyTorch nn.{TORCH_LAYERS[config.cell]}"
    if torch_net is not None:
        batches = [
            (torch.from_numpy(x.numpy()).long(), torch.from_numpy(y.numpy()).long())
            for x, y in dataset.take(args.steps)
        ]
        step = torch_train_step(torch_net, train)
        first[peer], loss = first_seconds(lambda: step(*batches[0]))
        losses[peer] = [float(loss)]
        # Batches 0, 1, ... again, as each `model.fit` call above starts the dataset anew.
        warmup = [float(step(*batches[i % len(batches)])) for i in range(args.warmup)]
        losses[peer] += [sum(warmup) / len(warmup)] if warmup else []
        fns[peer] = lambda: [step(x, y) for x, y in batches]
        params[peer] = sum(w.numel() for w in torch_net.parameters() if w.requires_grad)
    print(
        "params: "
        + ", ".join(f"{name} {count}" for name, count in params.items())
        + "; mean loss of the first step and of the warm-up steps after it: "
        + ", ".join(f"{n} {' '.join(f'{x:.5f}' for x in loss)}" for n, loss in losses.items()),
        flush=True,
    )
    timed = round_robin_with_cores(fns, args.repeats)
    seconds = {name: wall for name, (wall, _) in timed.items()}
    rows = []
    for name in [*runs, peer]:
        row = {"task": "train", "run": name}
        if name not in seconds:
            rows.append({**row, "per_s": NO_TORCH})
            continue
        rate = tokens / seconds[name]
        ratio = round(seconds[peer] / seconds[name], 2) if peer in seconds and name != peer else ""
        row |= {"params": params[name], "per_s": round(rate), "first_s": round(first[name], 2)}
        row |= {"cores": round(timed[name][1], 2)}
        rows.append({**row, "vs_pytorch": ratio})
    return rows, models["fit default"], torch_net


def compare_generation(config, model, tokenizer, args, torch_net, peak: float) -> list[dict]:
    """Generation rows of one cell and size: ours at batch 1 and 64, PyTorch, the floor."""
    generator = TextGenerator(model, tokenizer)
    fns = {
        "ours, 1": lambda: generator.generate(PROMPT, args.length, seed=1),
        "ours, 64": lambda: generator.generate(PROMPT, args.length, num_samples=64, seed=1),
        "floor": matvec_floor(model, args.length),
    }
    if torch_net is not None:
        prompt = [int(i) for i in tokenizer.encode(PROMPT).numpy()]
        fns["torch"] = lambda: torch_generate(torch_net, prompt, args.length, seed=1)
    first = {name: first_seconds(fn)[0] for name, fn in fns.items()}
    rate = {name: args.length / s for name, s in round_robin_medians(fns, args.repeats).items()}
    rate["ours, 64"] *= 64
    # Floating-point operations per token of the forward pass (training counts it three times).
    forward_flops = training_flops_per_token(config) / 3
    torch_row, vs_torch = {"run": "PyTorch eager loop", "per_s": NO_TORCH}, ""
    if "torch" in rate:
        torch_row |= {"per_s": round(rate["torch"]), "first_s": round(first["torch"], 2)}
        vs_torch = round(rate["ours, 1"] / rate["torch"], 2)
    batch_1 = [
        {
            "run": "TextGenerator.generate",
            "per_s": round(rate["ours, 1"]),
            "first_s": round(first["ours, 1"], 2),
            "vs_pytorch_eager": vs_torch,
            "of_floor": round(rate["ours, 1"] / rate["floor"], 2),
        },
        torch_row,
        {"run": "NumPy matvec floor", "per_s": round(rate["floor"])},
    ]
    batch_64 = {
        "run": "TextGenerator.generate",
        "per_s": round(rate["ours, 64"]),
        "first_s": round(first["ours, 64"], 2),
        "of_matmul": round(rate["ours, 64"] * forward_flops / 1e9 / peak, 2),
    }
    return [{"task": "generate, batch 1", **row} for row in batch_1] + [
        {"task": "generate, batch 64", **batch_64}
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", choices=sorted(TORCH_LAYERS), default=["lstm", "gru"])
    parser.add_argument("--sizes", nargs="+", default=["1x256", "2x256"])
    parser.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    parser.add_argument("--seq-len", type=int, default=TrainConfig().seq_len)
    parser.add_argument("--steps", type=int, default=10, help="training steps per timing")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps after the first")
    parser.add_argument("--length", type=int, default=1000, help="characters per generation")
    parser.add_argument(
        "--torch-threads", type=int, default=os.cpu_count(), help="default: the machine's cores"
    )
    parser.add_argument("--json")
    args = parser.parse_args()

    train = dataclasses.replace(TrainConfig(), batch_size=args.batch_size, seq_len=args.seq_len)
    # The corpus, tokenizer and training split exactly as `training.fit` makes them.
    text = as_documents(load_corpus(), train.documents)
    tokenizer = build_tokenizer(ModelConfig().level, text)
    train_text, _ = split_text(text, train.validation_split, train.seq_len)
    ids = tokenizer.encode(train_text)  # (tokens,) int32
    if torch is not None:
        torch.set_num_threads(args.torch_threads)
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    else:
        print(NO_TORCH, flush=True)
    peak = matmul_gflops()
    print(f"float32 matmul through TF: {peak:.0f} GFLOP/s", flush=True)
    rows = []
    for cell, size, config in size_configs(args.cells, args.sizes, tokenizer.vocab_size):
        # PyTorch's nn.LSTM/GRU has no dropout after its last layer: both sides go without.
        config = dataclasses.replace(config, dropout=0.0)
        print(f"== {cell} {size}, vocab {config.vocab_size}", flush=True)
        trained, model, torch_net = compare_training(config, train, ids, args)
        generated = compare_generation(config, model, tokenizer, args, torch_net, peak)
        for row in trained + generated:
            rows.append({"cell": cell, "size": size, **row})
            print(rows[-1], flush=True)
    columns = ("params", "per_s", "cores", "first_s", "vs_pytorch", "vs_pytorch_eager")
    columns += ("of_floor", "of_matmul")
    rows = [{**{c: "" for c in ("cell", "size", "task", "run", *columns)}, **r} for r in rows]
    report("peers", rows, args.json)


if __name__ == "__main__":
    main()

"""Running an exported `model.tflite` on a desktop, as an app would: one step at a time.

The flatbuffer holds one signature, `step`: a token `(1, 1)` int32 and one
`(1, units)` float32 input per recurrent state (`layer0_h`, `layer0_c`, ...)
give `logits` `(1, vocab)` and the new states under the same names. The
sidecar `tokenizer.json` beside it carries the vocabulary and the state names;
tokenizing, carrying the states and sampling belong to the caller, here
the package's own plain-Python tokenizers and decoding loop: an export of
any level runs without TensorFlow.
"""

import collections
import functools
import os
import pathlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_rnn_textgen import bounded_json
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.generation.beam_search import beam_search
from keras_rnn_textgen.generation.decode import decode_ids, prepare
from keras_rnn_textgen.generation.samples import Decoded, SampleGenerator, token_names
from keras_rnn_textgen.generation_config import GenerationConfig, empty_prompt_text
from keras_rnn_textgen.tokenizers.plain_pieces import plain_tokenizer

if TYPE_CHECKING:
    from keras_rnn_textgen.tokenizers.base import Tokenizer

SIGNATURE = "step"
SIDECAR_FILE = "tokenizer.json"


def tflite_ops(content: bytes) -> collections.Counter:
    """Counts the operators of a TFLite flatbuffer by name, over all subgraphs.

    Builtin operators keep their schema name (`FULLY_CONNECTED`); custom and
    Flex (Select TF) operators are named `CUSTOM:<code>`, e.g.
    `CUSTOM:FlexTensorListReserve`.

    Args:
        content: the bytes of a `.tflite` file.

    Example:
        >>> ops = tflite_ops(pathlib.Path("export/model.tflite").read_bytes())
        >>> [op for op in ops if op.startswith("CUSTOM:")]
        []
    """
    from ai_edge_litert import schema_py_generated as schema

    builtin_names = {
        code: name for name, code in vars(schema.BuiltinOperator).items() if name.isupper()
    }
    model = schema.Model.GetRootAs(content, 0)
    names = []
    for i in range(model.OperatorCodesLength()):
        opcode = model.OperatorCodes(i)
        # Codes above 127 live only in BuiltinCode; older files only in the deprecated field.
        code = max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())
        if code == schema.BuiltinOperator.CUSTOM:
            names.append(f"CUSTOM:{opcode.CustomCode().decode()}")
        else:
            names.append(builtin_names.get(code, f"UNKNOWN:{code}"))
    counts: collections.Counter = collections.Counter()
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            counts[names[subgraph.Operators(o).OpcodeIndex()]] += 1
    return counts


def read_sidecar(path: pathlib.Path) -> dict[str, Any]:
    """Reads an export's `tokenizer.json`, naming the file in any error."""
    try:
        data = bounded_json.read(path)
    except FileNotFoundError:
        raise ModelFolderError(
            f"{str(path)!r} is missing: `export` writes it beside the .tflite files"
        ) from None
    except ValueError as e:
        raise ModelFolderError(str(e)) from None
    if (
        not isinstance(data, dict)
        or not {"vocabulary", "state_names", "units"} <= set(data)
        or not isinstance(data["state_names"], list)
    ):
        raise ModelFolderError(
            f"{str(path)!r} is not an export sidecar: it needs `vocabulary`, "
            "`state_names` (a list) and `units`"
        )
    return data


def _sidecar_units(metadata: dict[str, Any]) -> list[int | None]:
    """Each state's size as a sidecar gives it: per input, or one `units` for all (old ones)."""
    shapes = metadata.get("inputs")
    names = metadata["state_names"]
    if isinstance(shapes, dict) and all(isinstance(shapes.get(n), dict) for n in names):
        return [_last(shapes[n].get("shape")) for n in names]
    units = metadata.get("units")
    return [units if type(units) is int else None] * len(names)


def _last(shape: Any) -> int | None:
    return shape[-1] if isinstance(shape, list) and shape and type(shape[-1]) is int else None


class TFLiteModel(SampleGenerator):
    """A `model.tflite` and its sidecar, run through the `step` signature runner.

    Args:
        path: the `.tflite` file written by `export`.
        metadata: the sidecar's content; read from `tokenizer.json` beside
            `path` when None.
        num_threads: interpreter threads.

    Example:
        >>> lite = TFLiteModel("saved_models/gru-2x256/export/model.tflite")
        >>> print(lite.generate("ROMEO:", 100, greedy=True)[0])
        ROMEO:...
        >>> lite.logits(lite.tokenizer.tokenize("To be").numpy()).shape[0]   # (5, vocab)
        5
    """

    def __init__(
        self,
        path: str | os.PathLike,
        metadata: dict[str, Any] | None = None,
        num_threads: int = 1,
    ):
        from ai_edge_litert.interpreter import Interpreter

        path = pathlib.Path(path)
        if not path.is_file():
            raise ModelFolderError(f"TFLite model {str(path)!r} does not exist")
        self.path = path
        sidecar = path.parent / SIDECAR_FILE
        self.metadata = metadata or read_sidecar(sidecar)
        try:
            self._plain = plain_tokenizer(self.metadata)
        except ValueError as plain_error:
            # Patterns the plain tokenizers cannot run: TensorFlow's tokenizer reads them.
            if self.metadata.get("level", "char") == "char":
                raise ModelFolderError(f"{str(sidecar)!r}: {plain_error}") from None
            try:
                vocab_size = self.tokenizer.vocab_size
            except (ValueError, ImportError):
                raise ModelFolderError(f"{str(sidecar)!r}: {plain_error}") from None
            self._plain = None
        else:
            vocab_size = self._plain.vocab_size
        self.vocab_size = vocab_size
        self.state_names = list(self.metadata["state_names"])
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
            self.runner = self.interpreter.get_signature_runner(SIGNATURE)
        except ValueError as e:
            raise ModelFolderError(
                f"{str(path)!r} is not a TFLite model with a {SIGNATURE!r} signature: "
                f"{str(e).splitlines()[0] if str(e) else e}"
            ) from None
        inputs = self.runner.get_input_details()
        expected = {"token", *self.state_names}
        if set(inputs) != expected:
            raise ModelFolderError(
                f"{str(path)!r} has `step` inputs {sorted(inputs)} but its sidecar names "
                f"{sorted(expected)}"
            )
        # Each state's size, as the flatbuffer has it (layers may differ).
        self.state_units = [int(inputs[n]["shape"][-1]) for n in self.state_names]
        # A sidecar of another model with the same cell and layers names the same
        # inputs: the vocabulary and the state sizes tell them apart.
        model_sizes = (
            int(self.runner.get_output_details()["logits"]["shape"][-1]),
            self.state_units,
        )
        sidecar_sizes = (vocab_size, _sidecar_units(self.metadata))
        if model_sizes != sidecar_sizes:
            source = "the given metadata" if metadata else repr(str(sidecar))
            raise ModelFolderError(
                f"{source} does not belong to {str(path)!r}: it describes {sidecar_sizes[0]} "
                f"ids and states of {sidecar_sizes[1]} units, the model has {model_sizes[0]} "
                f"ids and states of {model_sizes[1]} units"
            )

    @functools.cached_property
    def tokenizer(self) -> "Tokenizer":
        """The package's tokenizer of the sidecar (it imports TensorFlow)."""
        from keras_rnn_textgen.tokenizers.registry import tokenizer_from_config

        return tokenizer_from_config(self.metadata)

    @property
    def needs_tensorflow(self) -> bool:
        """Whether `generate` imports TensorFlow (a sidecar whose patterns only RE2 runs)."""
        return self._plain is None

    def initial_states(self) -> dict[str, np.ndarray]:
        """Zero states, one `(1, units)` array per state name."""
        return {n: np.zeros([1, u], np.float32) for n, u in zip(self.state_names, self.state_units)}

    def step(
        self, token: int, states: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One token in, `(vocab,)` logits and the new states out."""
        out = self.runner(token=np.array([[token]], np.int32), **states)
        return out["logits"][0], {name: out[name] for name in self.state_names}

    def logits(self, ids: np.ndarray) -> np.ndarray:
        """Teacher-forced logits `(n, vocab)` of `(n,)` ids, from zero states."""
        states = self.initial_states()
        rows = []
        for token in np.asarray(ids):
            logits, states = self.step(int(token), states)
            rows.append(logits)
        return np.stack(rows) if rows else np.zeros([0, self.vocab_size], np.float32)

    def _batch_step(self, tokens: np.ndarray, states: list[np.ndarray]):
        # The flatbuffer has batch 1: a batch runs row by row.
        logits, new_states = [], [[] for _ in self.state_names]
        for row, token in enumerate(tokens):
            row_states = {n: s[row : row + 1] for n, s in zip(self.state_names, states)}
            row_logits, row_states = self.step(int(token), row_states)
            logits.append(row_logits)
            for i, name in enumerate(self.state_names):
                new_states[i].append(row_states[name][0])
        return np.stack(logits), [np.stack(s) for s in new_states]

    def _decode(
        self, prompt: str, config: GenerationConfig, cancelled: Callable[[], bool] | None
    ) -> Decoded:
        # One interpreter call per token and row (`generation.decode`).
        plain = self._plain
        tokenizer = plain or self.tokenizer
        # A `documents="lines"` model's samples end at the boundary token.
        end_ids = self.metadata.get("end_ids", ())
        stop_ids, banned_ids = prepare(tokenizer, prompt, config, end_ids)
        if plain:
            # A prompt with no tokens (empty, or only spaces for words) stands for a line start.
            ids = plain.ids(prompt) or plain.ids(empty_prompt_text(plain.vocabulary))
            texts = lambda rows: [plain.continuation(prompt, row) for row in rows]  # noqa: E731
        else:
            from keras_rnn_textgen.generation.plan import new_texts, prompt_ids

            prompt_rows, lengths = prompt_ids(tokenizer, prompt, 1)
            ids = prompt_rows[0, : lengths[0]]
            texts = lambda rows: new_texts(tokenizer, prompt, rows)  # noqa: E731
        rows = config.beam or config.num_samples
        states = [np.zeros([rows, u], np.float32) for u in self.state_units]
        search = beam_search if config.beam else decode_ids
        step = self._batch_step
        new, logprobs = search(step, states, ids, config, stop_ids, banned_ids, cancelled)
        names = token_names(tokenizer.vocabulary, tokenizer.first_id)
        return Decoded(prompt, new, logprobs, config.stop, texts, names)

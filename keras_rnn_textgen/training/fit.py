"""`fit`: train a model on a corpus into a model folder, resumable epoch by epoch."""

import functools
import pathlib
import time
from collections.abc import Callable, Collection, Sequence

from keras_rnn_textgen.config import ModelConfig, TrainConfig
from keras_rnn_textgen.config_fields import duration_seconds
from keras_rnn_textgen.data.prepare import CorpusSource, PreparationProgress
from keras_rnn_textgen.errors import ModelFolderError
from keras_rnn_textgen.saving.files import lock, remove_temporary_files
from keras_rnn_textgen.saving.folder import read_config
from keras_rnn_textgen.training.budget_run import (
    BudgetPlanner,
    budget_section,
    check_budget_options,
    given_fields,
    plan_line,
    resumed_budget,
    resumed_clock,
    run_deadline,
)
from keras_rnn_textgen.training.callbacks import fit_callbacks
from keras_rnn_textgen.training.checkpoint import FolderCheckpoint, save_start
from keras_rnn_textgen.training.deadline import BudgetClock
from keras_rnn_textgen.training.finish import FitResult, finish_run, train_run
from keras_rnn_textgen.training.folder_checks import (
    check_folder,
    check_name,
    remove_outputs,
    removed_unless_saved,
)
from keras_rnn_textgen.training.init_from import (
    check_not_source,
    fine_tuned_model,
    finetuned_name,
    init_from_section,
    source_architecture,
)
from keras_rnn_textgen.training.memory import check_training_memory
from keras_rnn_textgen.training.record import Progress, RunRecord, corpus_section
from keras_rnn_textgen.training.resume import resume_run, resumed_train_config
from keras_rnn_textgen.training.start import check_stateful, new_model, start_run
from keras_rnn_textgen.training.strategy import make_strategy, scope, worker_folder

__all__ = ["FitResult", "fit"]


def fit(
    corpus: Sequence[str | pathlib.Path] = (),
    model_config: ModelConfig | None = None,
    train_config: TrainConfig | None = None,
    *,
    output: str | pathlib.Path = "saved_models",
    name: str | None = None,
    resume: bool = False,
    init_from: str | pathlib.Path | None = None,
    overwrite: bool = False,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    print_fn: Callable[[str], None] | None = None,
    verbose: int | str = "auto",
    options_given: Collection[str] | None = None,
    progress: PreparationProgress | None = None,
) -> FitResult:
    """Trains a language model on `corpus` and writes `<output>/<name>/`.

    After every epoch the folder holds a complete, loadable model, so an
    interrupted run keeps its last completed epoch and `resume=True`
    continues it to `train_config.epochs` epochs in all, along the same data
    order as an uninterrupted run.

    Args:
        corpus: text files or folders; empty means the bundled Shakespeare.
        model_config: the architecture (`vocab_size` is set from the corpus).
        train_config: the training run.
        output: folder holding model folders.
        name: model folder name; derived from the architecture when None.
        resume: continue the run in an existing folder with its saved
            configs: `epochs`, the sampling options and the strategy come
            from `train_config`, and `RESUMED_WHEN_GIVEN` (patience, XLA,
            fast layers, TensorBoard, kept steps) when given; any other option given with
            a value other than the folder's is refused.
        init_from: a trained model folder to start from (fine-tuning): its
            architecture and weights, its vocabulary with the corpus's new
            characters appended at char level (`training.init_from`); the
            default `name` is the folder's with `-finetuned`.
        overwrite: replace an existing model folder that `fit` wrote, with
            everything made from its model (exports, report, logs); any
            other folder is refused.
        encoding: text encoding of the corpus files.
        encoding_errors: `"strict"` or `"replace"` for undecodable bytes.
        print_fn: receives the samples drawn while training (and, with a time
            budget, one line on what it chose).
        verbose: Keras progress display (0, 1, 2 or "auto"), or `"lines"`: no
            progress bar, one plain line of metrics per epoch to `print_fn`
            instead (the CLI's choice when stdout is not a terminal).
        options_given: names of the `ModelConfig` and `TrainConfig` fields
            the caller chose (the CLI: the options on its command line),
            checked against the folder's on resume; None: the fields that
            differ from their defaults.
        progress: told how far the preparation of the corpus has come
            (`data.prepare`: read once, its ids cached on disk).

    With `train_config.time_budget` the run ends within that time from this
    call (`training.budget`, docs/time-budget.md): the model options not
    given, the epochs and their length are chosen for this machine and
    corpus, the cosine schedule ends at the deadline, and `config.json`
    records the choice and the clock (`budget`); a resumed budgeted run
    trains for what is left of its budget.

    Example:
        >>> model = ModelConfig(cell="gru", layers=1, units=32)
        >>> train = TrainConfig(epochs=1, steps_per_epoch=5, sample_every=0)
        >>> result = fit(["novel.txt"], model, train, verbose=0)
        >>> result.folder, result.epochs_completed
        (PosixPath('saved_models/gru-1x32'), 1)
    """
    started = time.monotonic()  # a time budget's clock starts here
    model_config = model_config or ModelConfig()
    train_config = train_config or TrainConfig()
    given = given_fields(model_config, train_config, options_given)
    if train_config.time_budget and not resume:
        check_budget_options(given, init_from)
    # Everything is checked before the folder is created or changed: a refused run leaves nothing.
    check_name(name, output)
    # A missing corpus file is named before anything is said about the folder.
    files = CorpusSource.of(corpus).files
    default_name = model_config.default_name
    if init_from is not None:
        if resume:
            raise ValueError("--init-from starts a new model folder; it cannot go with --resume")
        model_config = source_architecture(init_from, model_config, options_given)
        default_name = finetuned_name(init_from)
    folder = chief_folder = pathlib.Path(output) / (name or default_name)
    strategy = make_strategy(train_config.strategy, train_config.tpu)
    # The chief alone writes the folder; other workers run the same steps on a scratch copy.
    scratch = worker_folder(folder, strategy, resume)
    if scratch is not None:
        folder, print_fn, verbose = pathlib.Path(scratch.name), None, 0
    check_folder(folder, resume, overwrite)
    logs = folder / "logs"
    if train_config.tensorboard and logs.exists() and not logs.is_dir():
        raise ModelFolderError(
            f"{str(logs)!r} is a file, where --tensorboard writes its logs folder: "
            "move the file away"
        )
    if init_from is not None:
        check_not_source(init_from, chief_folder)
    clock, planner, choice = None, None, {}
    if resume:
        info = read_config(folder)
        # Checked before the others: a used-up budget is what a user needs to hear first.
        resumed = resumed_budget(info, train_config, given, str(folder))
        train_config = resumed_train_config(folder, model_config, train_config, options_given)
        clock, train_config, choice = resumed_clock(resumed, info, train_config, started)
    else:
        check_training_memory(model_config)  # the least it needs, before the corpus is read
    # The documents setting is known now: on --resume it is the folder's.
    source = CorpusSource(files, encoding, encoding_errors, train_config.documents)
    check_stateful(train_config, strategy)
    if resume:
        new, origin = None, info.get("init_from")
    elif init_from is None:
        if train_config.time_budget:
            clock = BudgetClock(duration_seconds(train_config.time_budget), 0.0, started)
            planner = BudgetPlanner(clock, given)
        new = new_model(
            source, model_config, train_config, strategy, folder, progress=progress, planner=planner
        )
        origin = None
    else:
        new = fine_tuned_model(
            init_from, source, model_config, train_config, strategy, folder, progress
        )
        origin = init_from_section(init_from)
    with removed_unless_saved(folder), lock(folder), scope(strategy):
        check_folder(folder, resume, overwrite)  # again, now that no other run can change it
        remove_temporary_files(folder)
        if resume:
            run = resume_run(folder, source, train_config, strategy, progress)
        else:
            run = start_run(new, new.train_config, strategy)
        corpus_info = corpus_section(corpus, run.split)
        del new
        if planner is not None:
            choice = planner.section()
        budget = None
        if clock is not None:
            budget = functools.partial(budget_section, clock, run.train_config, choice)
        record = RunRecord(run.model_config, run.train_config, corpus_info, origin, budget)
        if overwrite:
            remove_outputs(folder)
        saving = time.monotonic()
        save_start(folder, run, record, with_model=not resume)
        deadline = None
        if clock is not None:
            # The final save takes about what the first did (a resumed run: about a second).
            final = max(time.monotonic() - saving, 1.0 if resume else 0.2)
            deadline = run_deadline(clock, run, choice, final)
            if print_fn is not None and planner is not None:
                print_fn(plan_line(choice, run.train_config.time_budget))
        progress = Progress(run.initial_epoch, run.initial_step)
        checkpoint = FolderCheckpoint(folder, record, progress, run.history)
        lines = verbose == "lines"
        callbacks = fit_callbacks(run, checkpoint, folder, print_fn, lines, deadline)
        train_run(run, callbacks, checkpoint, folder, 0 if lines else verbose)
        metrics = finish_run(run, checkpoint, folder)
        return FitResult(chief_folder, checkpoint.progress.epochs_completed, metrics)

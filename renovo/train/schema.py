"""The run configuration as typed, nested dataclasses: every key's default, rule and one-line doc, once.

`RunConfig` is what `renovo.train.config.load_config` returns: frozen sections
(`ModelSection`, `DataSection`, `LossSection`, …) whose fields are the config's
keys. Each field is declared with `setting(default, rule, doc)`: its default,
what it accepts (a `renovo.train.config_rules.Rule`: type, range, null) and what
it does. Everything else is derived from these declarations:

- ``renovo/configs/default.yaml`` is `render_yaml()` (a test keeps the file and
  the rendering equal; ``renovo configure`` writes the rendering);
- `RULES` (dotted key → rule), checked before any work by `first_problem`;
- ``renovo configure --keys`` (key, default, rule, doc).

A section reads as a read-only mapping too (``config["optim"]["lr"]`` is
``config.optim.lr``), so code written against the YAML layout keeps working;
`Section.to_dict` gives the plain dicts a checkpoint or a YAML file stores. Two
sections are another package's dataclass fields (`SECTION_FIELDS`:
``data.preprocess``, ``data.simulator``): a config holds only the fields it
sets, as a mapping, and each field's rule comes from its type.
"""
# long module: the schema is a table, one declaration per config key (146 with the dataclass sections' fields),
# and the few functions that derive the rules, the key table and the YAML rendering from it.
from __future__ import annotations

import copy
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from renovo.data import PreprocessConfig, SimulatorConfig
from renovo.train.config_rules import (
    PATHS,
    POSITIVE,
    Rule,
    boolean,
    choice,
    duration,
    either,
    field_rule,
    integer,
    list_of,
    mapping,
    number,
    text,
)


def setting(default: Any, rule: Rule, doc: str):
    """A config key: its default, the rule its values obey, and one line on what it does."""
    metadata = {"rule": rule, "doc": doc}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def section(cls: type, doc: str):
    """A nested section (a `Section` subclass)."""
    return field(default_factory=cls, metadata={"section": cls, "doc": doc})


def fields_of(cls: type, doc: str):
    """A section whose keys are the fields of another package's dataclass ``cls``; a config holds the ones it sets."""
    return field(default_factory=dict, metadata={"fields_of": cls, "doc": doc})


class Section(Mapping):
    """Base of the config's frozen dataclasses: a read-only mapping of its fields, in declaration order."""

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self.__dataclass_fields__)

    def __len__(self) -> int:
        return len(self.__dataclass_fields__)

    def to_dict(self) -> dict:
        """Plain, deep-copied dicts and lists (what YAML, JSON and checkpoints store), in field order."""
        return {name: value.to_dict() if isinstance(value, Section) else copy.deepcopy(value)
                for name, value in ((f.name, getattr(self, f.name)) for f in fields(self))}

    @classmethod
    def from_dict(cls, values: Mapping) -> "Section":
        """The section of a checked mapping (`renovo.train.config.check_values`); keys left out keep defaults."""
        kwargs = {}
        for f in fields(cls):
            if f.name in values:
                sub = f.metadata.get("section")
                kwargs[f.name] = sub.from_dict(values[f.name]) if sub else copy.deepcopy(values[f.name])
        return cls(**kwargs)


def _section(cls):
    return dataclass(frozen=True, eq=False)(cls)


_OPTIONAL = " (null = the preset's)"


@_section
class ModelSection(Section):
    """The network: a size preset, and any of its values to override (non-null values replace the preset's)."""

    preset: str = setting("small", choice("tiny", "small", "base"), "model size: tiny | small | base")
    d_model: int | None = setting(None, integer(1, null=True), "width of every layer" + _OPTIONAL)
    n_encoder_layers: int | None = setting(None, integer(0, null=True), "spectrum encoder layers" + _OPTIONAL)
    n_decoder_layers: int | None = setting(None, integer(1, null=True), "peptide decoder layers" + _OPTIONAL)
    n_heads: int | None = setting(None, integer(1, null=True),
                                  "attention heads; d_model must be a multiple of it" + _OPTIONAL)
    dim_feedforward: int | None = setting(None, integer(1, null=True), "feed-forward width" + _OPTIONAL)
    dropout: float | None = setting(None, number(0, 1, high_open=True, null=True), "dropout rate" + _OPTIONAL)
    max_charge: int | None = setting(None, integer(1, null=True), "largest precursor charge embedded" + _OPTIONAL)
    norm_first: bool | None = setting(None, boolean(null=True), "pre-norm transformer layers" + _OPTIONAL)
    ion_evidence: Any = setting(
        None, either(boolean(null=True), mapping()),
        "ion-evidence decoder features (renovo.model.ion_evidence): null = the preset's (small, base: on; "
        "tiny: off); false = the plain Casanovo-style model; true = on with defaults; a mapping sets them, e.g. "
        "{widths_da: [0.02, 0.1], widths_ppm: [], charges: [1, 2], a_ions: false, neutral_losses: false, "
        "isotope_offsets: [0, 1], into: both}")


@_section
class TokenizerSection(Section):
    """How peptides become tokens."""

    reverse: bool = setting(True, boolean(), "decode C→N, as Casanovo and InstaNovo do")
    merge_il: bool = setting(False, boolean(), "read I and L as one residue (L)")


@_section
class VocabularySection(Section):
    """The residues a model reads and writes (like Casanovo's `residues:`); stored in every checkpoint.

    The 20 amino acids are always in it. An entry names a modification by name (M[Oxidation]), Unimod
    accession (S[UNIMOD:21]) or mass delta in Da (S[+79.966]); N-terminal ones are written [Acetyl]-.
    Phosphoproteomics: add S[Phospho], T[Phospho], Y[Phospho] to `variable`."""

    fixed: list = setting(
        ["C[Carbamidomethyl]"], list_of(text()),
        "fixed modifications: each replaces its bare residue (with C[Carbamidomethyl], a label's plain C means "
        "carbamidomethylated C); [] for data that were not alkylated")
    variable: list = setting(
        ["M[Oxidation]", "N[Deamidated]", "Q[Deamidated]", "[Acetyl]-", "[Carbamyl]-", "[Ammonia-loss]-",
         "[Gln->pyro-Glu]-", "[Glu->pyro-Glu]-"], list_of(text()),
        "variable modifications: tokens of their own beside the bare residue")
    extra_modifications: list = setting(
        [], list_of(mapping()),
        "modifications renovo does not know by name: mappings with name, delta_da, targets (residues), "
        "position (anywhere | n-term) and optional unimod_id")


@_section
class DataSection(Section):
    """Training and validation spectra, batching and preprocessing."""

    train: Any = setting([], PATHS, "MGF / mzML / Parquet paths; empty = simulated stream (the embedded default)")
    val: Any = setting([], PATHS,
                       "validation files; empty = a fixed simulated set (val_size spectra, seed + val_seed_offset)")
    val_fraction: float | None = setting(
        None, number(0, 1, low_open=True, high_open=True, null=True),
        "with train files and no val: hold out this fraction of the training peptides for validation (a "
        "peptide's every spectrum, modified forms included, on one side)")
    val_real: Any = setting(
        [], PATHS,
        "labelled real spectra decoded at every validation beside val (beam search with the precursor-mass "
        "constraint, as renovo sequence does): val_real/peptide_recall, … (settings trainer.val_real_*)")
    mix_simulated: float = setting(
        0.0, number(0, 1, high_open=True),
        "with train files: this fraction of every training batch is simulated, the rest read from the files "
        "(against forgetting when fine-tuning); 0 = files only")
    batch_size: int = setting(32, integer(1), "training spectra per batch")
    val_batch_size: int = setting(64, integer(1), "validation spectra per batch")
    # PreprocessConfig's, so that a model built without a run config preprocesses as a default run does.
    max_peaks: int = setting(PreprocessConfig().max_peaks, integer(1),
                             "most intense peaks kept per spectrum (training and sequencing)")
    max_length: int = setting(30, integer(1), "labelled spectra with longer peptides are skipped (counted)")
    num_workers: int = setting(0, integer(0), "data-loader worker processes (0 = in the training process)")
    bucket_batches: int = setting(
        4, integer(1), "sort this many batches' spectra by peak count, then batch (less padding)")
    shuffle_buffer: int = setting(10000, integer(1), "shuffle buffer for streamed Parquet shards")
    val_size: int = setting(256, integer(1), "spectra in the simulated validation set")
    val_seed_offset: int = setting(1000003, integer(0), "the simulated validation set's seed is seed + this")
    preprocess: dict = fields_of(PreprocessConfig, "fields of renovo.data.PreprocessConfig (peak filtering, scaling)")
    simulator: dict = fields_of(SimulatorConfig, "fields of renovo.data.SimulatorConfig (the simulated spectra)")


_MASS_MODE = choice("expected", "straight_through")


@_section
class SpectrumLoss(Section):
    """The fragment-peak loss: the decoder's soft fragment masses against the spectrum's peaks."""

    type: str = setting("gaussian", choice("gaussian", "gaussian_marginal", "huber", "none"),
                        "gaussian | gaussian_marginal | huber | none")
    render: str = setting("analytic", choice("analytic", "grid"),
                          "analytic (closed form) | grid (the Gaussian rendering proposal's formula)")
    sigma: Any = setting(0.05, either(POSITIVE, list_of(POSITIVE, min_items=1)),
                         "Gaussian width in m/z; a list = multi-scale")
    sigma_weights: list | None = setting(None, list_of(number(0), min_items=1, null=True),
                                         "weights of a multi-scale sigma list (null = equal)")
    bin_size: float = setting(0.1, POSITIVE, "m/z bin of the rendered grid (render: grid only)")
    max_mz: float = setting(2000.0, POSITIVE, "upper m/z of the rendered grid (render: grid only)")
    variance_aware: bool = setting(False, boolean(), "widen each peak by the variance of its soft mass")
    mass_mode: str = setting("expected", _MASS_MODE, "expected | straight_through: the fragment masses it sees")
    charges: list = setting([1], list_of(integer(1), min_items=1), "fragment charges rendered")
    huber_delta: float = setting(1.0, POSITIVE, "Huber loss threshold in Da (type: huber)")


@_section
class PrecursorLoss(Section):
    """The precursor loss: the decoded peptide's mass against the precursor's."""

    type: str = setting("scaled_l1", choice("scaled_l1", "log1p", "expected_squared", "none"),
                        "scaled_l1 | log1p | expected_squared | none")
    scale_factor: float = setting(0.004, number(0), "scaled_l1: per Da; expected_squared: per Da^2")
    ppm_scale: float = setting(100000.0, POSITIVE, "log1p: ppm per unit of loss")
    target: str = setting("label", choice("label", "measured"),
                          "label (the peptide's mass) | measured (precursor m/z → neutral mass)")
    isotope_offsets: int = setting(0, integer(0), "k: nearest of target - n·1.00336 Da, n = 0..k")
    mass_mode: str = setting(
        "expected", _MASS_MODE,
        "expected | straight_through: the peptide mass the precursor loss sees (argmax masses forward, "
        "expected-mass gradient); independent of loss.spectrum.mass_mode")


@_section
class LossSection(Section):
    """Cross-entropy and the physics losses (their weights come from the curriculum)."""

    label_smoothing: float = setting(0.01, number(0, 1, high_open=True), "cross-entropy label smoothing (Casanovo's)")
    compute_zero_weight: bool = setting(
        True, boolean(), "compute and log a physics loss (without gradient) even when its weight is 0, so every "
        "component has a curve from step 0")
    physics_dtype: str = setting("float64", choice("float64", "float32"),
                                 "float64 | float32: mass arithmetic, always outside autocast")
    spectrum: SpectrumLoss = section(SpectrumLoss, "the fragment-peak loss")
    precursor: PrecursorLoss = section(PrecursorLoss, "the precursor-mass loss")


@_section
class WeightScale(Section):
    """Multiplies every stage's weights: how strong a config's losses are on whatever stage table it is given."""

    spectrum: float = setting(1.0, number(0), "multiplies every stage's spectrum weight")
    precursor: float = setting(1.0, number(0), "multiplies every stage's precursor weight")


@_section
class CurriculumSection(Section):
    """The physics losses' weights by step: the Gaussian rendering proposal's recommended table.

    A stage lasts until the next one starts; a [a, b] weight ramps linearly over its stage (the last stage
    ends at reference_steps). With scale_to_max_steps the boundaries (defined on reference_steps) are
    rescaled to the run's max_steps, so a short run passes through every stage."""

    scale_to_max_steps: bool = setting(True, boolean(), "rescale the stage boundaries to trainer.max_steps")
    reference_steps: int = setting(100000, integer(1), "the step count the stage boundaries are written for")
    force_final: bool = setting(False, boolean(), "use the last stage's final weights from step 0 (benchmarks)")
    weight_scale: WeightScale = section(
        WeightScale, "multiplies every stage's weights (an experiment plan replaces the table, not this)")
    stages: list = setting(
        [{"start": 0, "spectrum": 0.0, "precursor": 0.0},
         {"start": 10000, "spectrum": 0.10, "precursor": 0.0},
         {"start": 20000, "spectrum": 0.15, "precursor": 0.01},
         {"start": 30000, "spectrum": 0.20, "precursor": 0.015},
         {"start": 40000, "spectrum": 0.25, "precursor": [0.02, 0.08]}],
        list_of(mapping(), min_items=1),
        "the stage table: {start, spectrum, precursor} per stage (checked where the curriculum reads it)")


@_section
class OptimSection(Section):
    """AdamW with linear warmup and cosine decay; gradient clipping."""

    lr: float = setting(0.0005, POSITIVE, "peak learning rate")
    weight_decay: float = setting(0.00001, number(0), "AdamW weight decay")
    betas: list = setting([0.9, 0.999], list_of(number(0, 1, high_open=True), length=2), "AdamW betas")
    warmup_steps: int = setting(1000, integer(0), "linear warmup steps (capped at 10% of max_steps)")
    warmup_fraction: float | None = setting(
        None, number(0, 0.5, null=True), "when set: warm up over this fraction of max_steps instead of warmup_steps")
    min_lr_ratio: float = setting(0.0, number(0, 1), "cosine decays to lr * min_lr_ratio at max_steps")
    gradient_clip: float | None = setting(1.0, number(0, low_open=True, null=True),
                                          "gradient norm clip (null = off)")
    gradient_clip_mode: str = setting(
        "total", choice("total", "per_term"),
        "total: clip the summed gradient's norm (Casanovo's); per_term: clip cross-entropy's and the weighted "
        "physics terms' gradients each on its own (two backward passes a step; one device only)")
    physics_gradient_cap: float | None = setting(
        None, number(0, low_open=True, null=True),
        "per_term: also cap the physics gradient's norm at this fraction of cross-entropy's (clipped) norm")


@_section
class TrainerSection(Section):
    """The training loop: budget, validation, checkpoints, devices.

    The default is the small preset's one-hour CPU recipe: ~12,000 steps of batch 32 fit an hour on 2 quiet
    cores; with --max-time the run stops at the budget (with a final checkpoint) if that comes first."""

    max_steps: int = setting(12000, integer(1), "optimizer steps (the LR schedule spans them)")
    max_time: Any = setting(None, duration(null=True),
                            "wall-clock budget (\"60m\", \"1h30m\", \"90s\" or seconds); stops cleanly with a final "
                            "checkpoint")
    stop_at_token_acc: float | None = setting(
        None, number(0, 1, low_open=True, null=True),
        "stop (final checkpoint) at the first validation with val/token_acc ≥ this (a warm start)")
    stop_at_step: int | None = setting(None, integer(1, null=True),
                                       "stop (final checkpoint) at this step; the LR schedule still spans max_steps")
    max_epochs: int | None = setting(
        None, integer(1, null=True),
        "with train files: size the run to this many passes over them (sets max_steps; validation at least "
        "once a pass); null = max_steps as given")
    early_stopping_patience: int | None = setting(
        None, integer(1, null=True),
        "stop after this many validations in a row without improving checkpoint_monitor (null = never)")
    val_every_n_steps: int = setting(500, integer(1), "validate every this many steps")
    checkpoint_every_n_steps: int | None = setting(
        None, integer(1, null=True), "last.ckpt (the resume point) every this many steps; null = val_every_n_steps")
    log_every_n_steps: int = setting(10, integer(1), "write metrics.csv every this many steps")
    accelerator: str = setting("auto", choice("cpu", "gpu", "cuda", "mps", "auto"), "cpu | gpu | cuda | mps | auto")
    devices: Any = setting(1, either(integer(1), choice("auto")), "devices (processes) to train on, or auto")
    strategy: str = setting("auto", choice("auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_true"),
                            "auto | ddp (gloo on CPU) | ddp_spawn | ddp_find_unused_parameters_true")
    precision: Any = setting("32-true", choice("32-true", "32", 32, "bf16-mixed", "16-mixed", "bf16-true", "64-true",
                                               64), "32-true | bf16-mixed | 16-mixed | …")
    out: str = setting("runs", text(), "parent folder of run folders when --out is not given")
    checkpoint_monitor: str = setting(
        "val/ce", text(), "the metric best.ckpt is kept on (e.g. val_real/peptide_recall with data.val_real)")
    val_decode_beam: int = setting(1, integer(1), "decoded validation metrics (val/aa_precision, …): beam size "
                                                  "(1 = greedy)")
    val_decode_batches: int | None = setting(8, integer(0, null=True),
                                             "decoded validation metrics on the first this many validation batches")
    val_decode_tolerance_ppm: float | None = setting(
        None, number(0, low_open=True, null=True),
        "decoded validation metrics: precursor-mass constraint in ppm (null = off)")
    val_real_beam: int = setting(5, integer(1), "decoding of data.val_real: beam size")
    val_real_tolerance_ppm: float | None = setting(
        50.0, number(0, low_open=True, null=True),
        "decoding of data.val_real: precursor-mass constraint in ppm (null = off; isotope offsets 0 and 1, as "
        "renovo sequence)")
    val_real_max_spectra: int | None = setting(None, integer(0, null=True),
                                               "decode the first this many spectra of data.val_real (null = all)")
    progress_bar: bool = setting(True, boolean(), "show a progress bar")


@_section
class MonitorsSection(Section):
    """Training-health monitors."""

    nan_guard_max_consecutive: int = setting(10, integer(1), "stop after this many non-finite steps in a row")
    gradient_flow_every_n_steps: int = setting(100, integer(0),
                                               "log per-layer gradient norms every this many steps (0 = off)")


@_section
class RunConfig(Section):
    """renovo training config: every key a run can set.

    Named configs overlay these defaults; `--set key.sub=value` overlays them. Unknown keys are errors."""

    name: str | None = setting(None, text(null=True), "the run's name; set from the config file's name when null")
    seed: int = setting(0, integer(0), "seeds initialisation, data and every random draw")
    model: ModelSection = section(ModelSection, "the network")
    tokenizer: TokenizerSection = section(TokenizerSection, "tokens")
    vocabulary: VocabularySection = section(VocabularySection, "the residues")
    data: DataSection = section(DataSection, "spectra")
    loss: LossSection = section(LossSection, "losses")
    curriculum: CurriculumSection = section(CurriculumSection, "physics weights by step")
    optim: OptimSection = section(OptimSection, "optimizer")
    trainer: TrainerSection = section(TrainerSection, "training loop")
    monitors: MonitorsSection = section(MonitorsSection, "monitors")


# --- derived from the declarations --------------------------------------------------------------------------------

def _walk(cls: type, where: str = ""):
    """(dotted key, dataclass field) for every key below ``cls``, sections before their keys."""
    for f in fields(cls):
        path = f"{where}{f.name}"
        yield path, f
        if "section" in f.metadata:
            yield from _walk(f.metadata["section"], f"{path}.")


#: Sections whose keys are the fields of another package's dataclass: one rule per field, from its type
#: (the dataclass then checks what a type cannot say, e.g. ``min_mz ≤ max_mz``).
SECTION_FIELDS: dict[str, type] = {path: f.metadata["fields_of"] for path, f in _walk(RunConfig)
                                   if "fields_of" in f.metadata}


def _rules() -> dict[str, Rule]:
    rules = {path: f.metadata["rule"] for path, f in _walk(RunConfig) if "rule" in f.metadata}
    for path, cls in SECTION_FIELDS.items():
        hints = typing.get_type_hints(cls)
        rules.update({f"{path}.{f.name}": field_rule(hints[f.name]) for f in fields(cls)})
    return rules


#: Dotted key → the rule its values obey, for every key (the dataclass sections' fields included).
RULES: dict[str, Rule] = _rules()


def key_table() -> list[tuple[str, str, str, str]]:
    """(dotted key, default, what it accepts, what it does) for every key, the dataclass sections' fields included."""
    rows = []
    for path, f in _walk(RunConfig):
        if "rule" in f.metadata:
            default = f.default_factory() if f.default is MISSING else f.default
            rows.append((path, repr(default), f.metadata["rule"].allowed, f.metadata["doc"]))
        elif "fields_of" in f.metadata:
            cls = f.metadata["fields_of"]
            for inner in fields(cls):
                key = f"{path}.{inner.name}"
                rows.append((key, repr(getattr(cls(), inner.name)), RULES[key].allowed, f"field of {cls.__name__}"))
    return rows


def section_keys(path: str) -> set[str] | None:
    """The keys a ``SECTION_FIELDS`` section accepts (None for any other path)."""
    cls = SECTION_FIELDS.get(path)
    return None if cls is None else {f.name for f in fields(cls)}


def first_problem(config: Mapping, defaults: Mapping, where: str = "") -> str | None:
    """One line (key, value, what is allowed) for the first value out of type or range; None if all fit."""
    for key, value in config.items():
        path = f"{where}{key}"
        default = defaults.get(key) if isinstance(defaults, Mapping) else None
        if path in SECTION_FIELDS or (isinstance(default, Mapping) and default and path not in RULES):
            problem = first_problem(value, default or {}, f"{path}.") if isinstance(value, Mapping) else None
            if problem:
                return problem
            continue
        rule = RULES.get(path)
        if rule is None:
            return f"config key {path} has no rule in renovo.train.schema (declare it)"
        if not rule.accepts(value):
            return f"config key {path} = {value!r}: must be {rule.allowed}"
    return None


def normalised(config: Mapping, where: str = "") -> dict:
    """A checked config with every value as its rule reads it (see `Rule.normalise`)."""
    out = {}
    for key, value in config.items():
        path = f"{where}{key}"
        rule = RULES.get(path)
        if rule is None and isinstance(value, Mapping):
            out[key] = normalised(value, f"{path}.")
        else:
            out[key] = value if rule is None else rule.normalise(value)
    return out


def as_plain(config: Mapping) -> dict:
    """Plain dicts of a config (a `Section` or a mapping of them): what YAML, JSON and checkpoints store."""
    if isinstance(config, Section):
        return config.to_dict()
    return {key: as_plain(value) if isinstance(value, Mapping) else copy.deepcopy(value)
            for key, value in config.items()}


# --- the YAML rendering --------------------------------------------------------------------------------------------

_WIDTH = 110


def _comment(text: str, indent: str) -> list[str]:
    """``text`` as ``# `` lines wrapped at `_WIDTH`."""
    import textwrap

    lines = []
    for paragraph in text.split("\n\n"):
        lines.extend(textwrap.wrap(" ".join(paragraph.split()), _WIDTH - len(indent) - 2, break_on_hyphens=False))
    return [f"{indent}# {line}" for line in lines]


def _flow(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False,
                          allow_unicode=True).replace("\n...", "").strip()


def _render(cls: type, indent: str) -> list[str]:
    lines = []
    for f in fields(cls):
        doc = f.metadata["doc"]
        if "section" in f.metadata:
            sub = f.metadata["section"]
            lines += [""] if not indent else []
            lines += _comment(typing.cast(str, sub.__doc__), indent)
            lines.append(f"{indent}{f.name}:")
            lines += _render(sub, indent + "  ")
            continue
        lines += _comment(doc, indent)
        default = {} if "fields_of" in f.metadata else getattr(cls(), f.name)
        lines.append(f"{indent}{f.name}: {_flow(default)}")
    return lines


def render_yaml() -> str:
    """The default config as commented YAML, every key with its doc: ``renovo/configs/default.yaml``."""
    head = [*_comment(typing.cast(str, RunConfig.__doc__), ""),
            "# Written by `renovo configure` from renovo/train/schema.py, where each key's default, type, range",
            "# and doc are declared. Keys left out of an edited copy keep their defaults."]
    return "\n".join(head + _render(RunConfig, "")) + "\n"


__all__ = ["RULES", "SECTION_FIELDS", "CurriculumSection", "DataSection", "LossSection", "ModelSection",
           "MonitorsSection", "OptimSection", "PrecursorLoss", "RunConfig", "Section", "SpectrumLoss",
           "TokenizerSection", "TrainerSection", "VocabularySection", "WeightScale", "as_plain", "first_problem",
           "key_table", "normalised", "render_yaml", "section_keys"]

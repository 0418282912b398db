"""Greedy and beam search over any model that follows the SequenceModel protocol.

The protocol (:class:`renovo.model.SequenceModel`): ``model.tokenizer`` and
``model.start_decoding(batch, beams, use_cache) -> state`` whose
``state.logits(last_tokens) -> (rows, vocab)`` and ``state.reorder(source)``
carry each beam's decoder state (for renovo's transformer: the key/value
cache and the prefix mass its ion-evidence features read).

One step scores every live beam of every spectrum in a single model call and
picks the next beams with one ``topk`` over (beams × vocabulary) per spectrum.
A beam that has stopped keeps its slot with its final score (it extends only
by padding, at log-probability 0); since a sum of log-probabilities can only
fall, a live beam that ranks below a stopped one could never overtake it.

Grammar, always on: no PAD/BOS output, no empty peptide, an N-terminal
modification token only where it can be written (in C→N order: last, after a
residue it may sit on, then only the stop token; in N→C order: first).

Precursor-mass constraint (``precursor_tolerance_ppm``): a residue is allowed
only if the mass left after it can still be filled by residues within the
tolerance for some isotope offset (see :mod:`renovo.decode.mass`); the stop
token only when the peptide's mass is within tolerance. Spectra for which the
constrained search finds no complete peptide are decoded again without the
constraint; their predictions carry ``precursor_match=False``.

Scores: ``residue_scores`` are per-residue probabilities, N→C (an N-terminal
modification's probability multiplies into the first residue's);
``score`` is the geometric mean probability of every emitted token (residues
and the stop), exp(mean log-probability), in (0, 1]. Candidates are ranked
by ``score``; with the constraint on, in-tolerance candidates come first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import torch

from renovo.chem import H2O_MASS_DA, isotope_offsets as as_isotope_offsets, isotope_shift_da, ppm_error
from renovo.decode.config import DEFAULTS, DecodeConfig
from renovo.decode.mass import MassFeasibility


@dataclass
class Prediction:
    """One decoded peptide for one spectrum."""

    peptide: str  # canonical ProForma
    score: float  # geometric mean token probability, (0, 1]
    residue_scores: list[float]  # probability per residue, N→C
    tokens: list[int] = field(default_factory=list)  # ids in decoding order, without EOS
    mass_da: float = math.nan  # neutral monoisotopic mass of the peptide
    # ppm_error(mass_da, measured precursor mass) at isotope offset 0, the precursor as picked; the PSM's
    # mass_error_ppm (what outputs write) is the isotope-corrected error, renovo.decode.psm.
    uncorrected_error_ppm: float = math.nan
    precursor_match: bool | None = None  # within tolerance for some isotope offset; None if no tolerance given
    complete: bool = True  # False when max_length cut the peptide before a stop token


def _model_device(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def _transitions(tokenizer) -> torch.Tensor:
    """allowed[previous_token, next_token] (vocab, vocab) bool; BOS stands for "nothing yet"."""
    vocab = tokenizer.vocab_size
    pad, bos, eos = tokenizer.PAD, tokenizer.BOS, tokenizer.EOS
    allowed = torch.ones(vocab, vocab, dtype=torch.bool, device="cpu")  # built once, moved by the caller
    allowed[:, pad] = False
    allowed[:, bos] = False
    allowed[bos, eos] = False
    n_terminal = list(tokenizer.n_terminal_ids)
    residues = [i for i in range(eos + 1, vocab) if i not in set(n_terminal)]
    targets = {}
    for token_id in n_terminal:
        token = tokenizer.tokens[token_id]
        modification = next(
            (m for m in tokenizer.vocabulary.modifications if m.is_n_terminal and m.token() == token), None
        )
        targets[token_id] = tuple(modification.targets) if modification is not None else ()
    if tokenizer.reverse:  # C→N: the N-terminal token closes the peptide
        for n in n_terminal:
            allowed[bos, n] = False
            allowed[n, :] = False
            allowed[n, eos] = True
            if targets[n]:
                for r in residues:
                    allowed[r, n] = tokenizer.tokens[r][0] in targets[n]
    else:  # N→C: the N-terminal token opens it
        for row in range(vocab):
            if row != bos:
                allowed[row, n_terminal] = False
        for n in n_terminal:
            allowed[n, eos] = False
            if targets[n]:
                for r in residues:
                    allowed[n, r] = tokenizer.tokens[r][0] in targets[n]
    return allowed


class _MassConstraint:
    """Masks tokens that cannot lead to a peptide within the precursor tolerance."""

    def __init__(self, tokenizer, tolerance_ppm: float, isotope_offsets: Sequence[int], device: torch.device):
        self.device = device
        self.token_mass_da = tokenizer.residue_masses_da.to(device)  # (vocab,) float64
        self.offsets_da = torch.tensor([isotope_shift_da(k) for k in as_isotope_offsets(isotope_offsets)],
                                       dtype=torch.float64, device=device)  # (offsets,)
        self.tolerance_ppm = float(tolerance_ppm)
        self.feasibility = MassFeasibility(tokenizer)
        self.eos = tokenizer.EOS
        self.n_terminal = torch.tensor(tokenizer.n_terminal_ids, dtype=torch.long, device=device)
        self.n_terminal_closes = tokenizer.reverse
        special = torch.zeros(tokenizer.vocab_size, dtype=torch.bool, device=device)
        special[: tokenizer.EOS + 1] = True
        self.special = special

    def tolerance_da(self, precursor_mass_da: torch.Tensor) -> torch.Tensor:
        return precursor_mass_da.abs() * self.tolerance_ppm * 1e-6

    def remaining_da(self, mass_da: torch.Tensor, precursor_mass_da: torch.Tensor) -> torch.Tensor:
        """Mass still to fill per isotope choice. # (rows, offsets)"""
        return (precursor_mass_da[:, None] - self.offsets_da[None, :]) - H2O_MASS_DA - mass_da[:, None]

    def matches(self, mass_da: torch.Tensor, precursor_mass_da: torch.Tensor) -> torch.Tensor:
        """Whether residues summing to ``mass_da`` make a peptide within tolerance. # (rows,)"""
        remaining = self.remaining_da(mass_da, precursor_mass_da)
        return (remaining.abs() <= self.tolerance_da(precursor_mass_da)[:, None]).any(1)

    def allowed(self, mass_da: torch.Tensor, precursor_mass_da: torch.Tensor) -> torch.Tensor:
        """(rows, vocab) bool: tokens that keep a peptide within tolerance reachable."""
        tolerance = self.tolerance_da(precursor_mass_da)[:, None, None]  # (rows, 1, 1)
        after = self.remaining_da(mass_da, precursor_mass_da)[:, :, None] - self.token_mass_da[None, None, :]  # (rows, offsets, vocab)
        allowed = self.feasibility.feasible(after, tolerance).any(1)  # (rows, vocab)
        closes = (after.abs() <= tolerance).any(1)  # (rows, vocab)
        if self.n_terminal_closes and len(self.n_terminal):
            allowed[:, self.n_terminal] = closes[:, self.n_terminal]
        allowed[:, self.eos] = closes[:, self.eos]
        allowed &= ~self.special | (torch.arange(len(self.special), device=allowed.device) == self.eos)
        unknown = ~torch.isfinite(precursor_mass_da) | (precursor_mass_da <= 0)  # no measured mass: no constraint
        return allowed | unknown[:, None]


class _Results:
    """The search's output for every spectrum of the batch, written as spectra finish."""

    def __init__(self, batch: int, beams: int, max_length: int, pad: int, device: torch.device):
        self.tokens = torch.full((batch, beams, max_length + 1), pad, dtype=torch.long, device=device)
        self.token_logp = torch.zeros(batch, beams, max_length + 1, dtype=torch.float64, device=device)
        self.score = torch.full((batch, beams), -math.inf, dtype=torch.float64, device=device)
        self.mass_da = torch.zeros(batch, beams, dtype=torch.float64, device=device)

    def write(self, index, tokens, token_logp, score, mass_da, which) -> None:
        """Spectra ``which`` (N,) bool of the working arrays (rows N·K) are spectra ``index`` of the batch."""
        beams = self.score.shape[1]
        self.tokens[index] = tokens.view(-1, beams, tokens.shape[1])[which]
        self.token_logp[index] = token_logp.view(-1, beams, token_logp.shape[1])[which]
        self.score[index] = score[which]
        self.mass_da[index] = mass_da.view(-1, beams)[which]

    def tensors(self, eos: int):
        complete = (self.tokens == eos).any(2) & torch.isfinite(self.score)  # (B, K)
        return self.tokens, self.token_logp, self.score, complete, self.mass_da


@torch.no_grad()
def _search(model, spectra, beam_size, max_length, constraint, use_cache=True):
    """Beam search; returns tokens (B,K,L+1), log-probs (B,K,L+1) float64, sum scores (B,K), complete (B,K), mass (B,K)."""
    tokenizer = model.tokenizer
    pad, bos, eos = tokenizer.PAD, tokenizer.BOS, tokenizer.EOS
    precursor_mass_da = spectra["precursor_mass_da"]
    device = precursor_mass_da.device
    batch, k = precursor_mass_da.shape[0], beam_size
    vocab = tokenizer.vocab_size
    transitions = _transitions(tokenizer).to(device)
    token_mass_da = tokenizer.residue_masses_da.to(device)  # (vocab,) float64
    only_eos = torch.arange(vocab, device=device) == eos  # (vocab,)

    state = model.start_decoding(spectra, beams=k, use_cache=use_cache)
    # A spectrum whose beams have all stopped is written out and dropped from the work (if the state can).
    can_drop = True  # until the state says it cannot (its keep returns False)
    results = _Results(batch, k, max_length, pad, device)
    # The work: the spectra still decoding (``active``: their indices in the batch), K rows each.
    active = torch.arange(batch, device=device)  # (N,)
    precursor_mass_da = precursor_mass_da.repeat_interleave(k, 0)  # (N·K,)
    rows_total = batch * k
    tokens = torch.full((rows_total, max_length + 1), pad, dtype=torch.long, device=device)
    token_logp = torch.zeros(rows_total, max_length + 1, dtype=torch.float64, device=device)
    score = torch.full((batch, k), -math.inf, dtype=torch.float64, device=device)
    score[:, 0] = 0.0  # one seed beam per spectrum, so the first step does not pick duplicates
    done = torch.zeros(rows_total, dtype=torch.bool, device=device)
    last = torch.full((rows_total,), bos, dtype=torch.long, device=device)
    mass_da = torch.zeros(rows_total, dtype=torch.float64, device=device)  # (N·K,) residues so far

    for step in range(max_length + 1):
        live = ~done & torch.isfinite(score.view(-1))  # (N·K,)
        finished = ~live.view(-1, k).any(1)  # (N,)
        if bool(finished.all()):
            break
        kept = (~finished).nonzero().squeeze(1) if can_drop and bool(finished.any()) else None  # (N',)
        can_drop = kept is None or state.keep(kept)
        if kept is not None and can_drop:
            results.write(active[finished], tokens, token_logp, score, mass_da, finished)
            rows = (kept[:, None] * k + torch.arange(k, device=device)[None, :]).reshape(-1)  # (N'·K,)
            active, score = active[kept], score[kept]
            tokens, token_logp, done, last = tokens[rows], token_logp[rows], done[rows], last[rows]
            mass_da, precursor_mass_da, live = mass_da[rows], precursor_mass_da[rows], live[rows]
        spectra_now, rows_now = score.shape[0], score.numel()
        first_row = (torch.arange(spectra_now, device=device) * k)[:, None]  # (N, 1)
        rows = live.nonzero().squeeze(1)
        # Every row is fed (finished beams feed PAD, which adds no mass): the state's rows stay aligned.
        logits = state.logits(tokens[:, step - 1] if step else None)[rows]  # (live, vocab)
        logp = torch.log_softmax(logits.float(), dim=-1).double()  # (live, vocab)
        allowed = transitions[last[rows]]  # (live, vocab)
        if step == max_length:  # room for the stop token only
            allowed = allowed & only_eos
        if constraint is not None:
            allowed = allowed & constraint.allowed(mass_da[rows], precursor_mass_da[rows])
        candidates = torch.full((rows_now, vocab), -math.inf, dtype=torch.float64, device=device)
        candidates[rows] = logp.masked_fill(~allowed, -math.inf)
        carried = done & torch.isfinite(score.view(-1))
        candidates[carried, pad] = 0.0

        total = (score.view(-1, 1) + candidates).view(spectra_now, k * vocab)
        score, index = total.topk(k, dim=1)  # (N, K)
        source = (first_row + index // vocab).view(-1)  # (N·K,)
        chosen = (index % vocab).view(-1)  # (N·K,)
        state.reorder(source)
        tokens, token_logp, done, last, mass_da = tokens[source], token_logp[source], done[source], last[source], mass_da[source]
        extends = ~done & torch.isfinite(score.view(-1))
        step_logp = candidates[source, chosen]
        tokens[extends, step] = chosen[extends]
        token_logp[extends, step] = step_logp[extends]
        mass_da = mass_da + torch.where(extends, token_mass_da[chosen], torch.zeros_like(mass_da))
        last = torch.where(extends, chosen, last)
        done = done | (extends & (chosen == eos)) | ~torch.isfinite(score.view(-1))
    results.write(active, tokens, token_logp, score, mass_da, torch.ones_like(active, dtype=torch.bool))
    return results.tensors(eos)


def _prediction(tokenizer, ids, logps, measured_mass_da, match, mass_da) -> Prediction:
    """Turn one beam's ids (decoding order, EOS-terminated or cut) into a Prediction."""
    residue_ids: list[int] = []
    residue_logp: list[float] = []
    emitted_logp: list[float] = []
    complete = False
    for token_id, logp in zip(ids, logps):
        if token_id == tokenizer.EOS:
            emitted_logp.append(logp)
            complete = True
            break
        if token_id == tokenizer.PAD:
            break
        residue_ids.append(token_id)
        residue_logp.append(logp)
        emitted_logp.append(logp)
    ordered = list(zip(residue_ids, residue_logp))
    if tokenizer.reverse:
        ordered.reverse()
    residue_scores: list[float] = []
    carry = 0.0  # an N-terminal modification's log-prob joins the residue after it (N→C)
    n_terminal = set(tokenizer.n_terminal_ids)
    for token_id, logp in ordered:
        if token_id in n_terminal:
            carry += logp
            continue
        residue_scores.append(math.exp(logp + carry))
        carry = 0.0
    peptide = tokenizer.decode(residue_ids + [tokenizer.EOS]).proforma if residue_ids else ""
    score = math.exp(sum(emitted_logp) / len(emitted_logp)) if emitted_logp else 0.0
    total_mass_da = mass_da + H2O_MASS_DA
    measured = float(measured_mass_da)
    error_ppm = ppm_error(total_mass_da, measured) if math.isfinite(measured) and measured > 0 else math.nan
    return Prediction(
        peptide=peptide,
        score=score,
        residue_scores=residue_scores,
        tokens=residue_ids,
        mass_da=total_mass_da,
        uncorrected_error_ppm=error_ppm,
        precursor_match=match,
        complete=complete,
    )


def _ranked(tokenizer, tokens, token_logp, score, complete, mass_da, measured_mass_da, constraint, top_k, require_complete):
    """Per spectrum, up to ``top_k`` Predictions ranked by (in tolerance, score)."""
    lengths = (tokens != tokenizer.PAD).sum(-1).clamp(min=1)  # (B, K)
    mean_logp = score / lengths
    results: list[list[Prediction]] = []
    tokens, token_logp, complete = tokens.cpu(), token_logp.cpu(), complete.cpu()
    # Within tolerance (for some isotope offset), every beam at once. # (B, K) bool, or None without a constraint
    matches = None
    if constraint is not None:
        beams = mass_da.shape[1]
        measured_rows = measured_mass_da.detach().to(device=mass_da.device, dtype=torch.float64).repeat_interleave(beams)
        matches = constraint.matches(mass_da.reshape(-1), measured_rows).view(mass_da.shape).cpu().tolist()
    mean_logp, mass_da, measured = mean_logp.cpu(), mass_da.cpu(), measured_mass_da.detach().cpu().double()
    mean_logp_list, complete_list, mass_list = mean_logp.tolist(), complete.tolist(), mass_da.tolist()
    tokens_list, logp_list, measured_list = tokens.tolist(), token_logp.tolist(), measured.tolist()
    for b in range(tokens.shape[0]):
        usable = [j for j in range(tokens.shape[1])
                  if math.isfinite(mean_logp_list[b][j]) and (complete_list[b][j] or not require_complete)]
        predictions = [
            _prediction(tokenizer, tokens_list[b][j], logp_list[b][j], measured_list[b],
                        None if matches is None else bool(matches[b][j]), mass_list[b][j])
            for j in usable
        ]
        predictions.sort(key=lambda p: (p.complete, bool(p.precursor_match), p.score), reverse=True)
        seen: set[str] = set()
        unique = [p for p in predictions if not (p.peptide in seen or seen.add(p.peptide))]
        results.append(unique[:top_k])
    return results


def search_batch(model, batch: dict, config: DecodeConfig, *, top_k: int | None = None,
                 use_cache: bool = True) -> list[list[Prediction]]:
    """Decode a batch (the collate dict) with beam search as ``config`` says: its beam, max_length (tokens
    before the stop token), precursor-mass constraint (``precursor_tolerance_ppm``; None: off) and isotope
    offsets (see the module docstring). Returns per spectrum up to ``top_k`` (default ``config.top_k``; a
    reranker asks for the whole beam) predictions, best first. ``use_cache=False`` asks the model to
    recompute its decoder over the whole prefix at every step (the reference the key/value cache is
    tested against)."""
    top_k = config.top_k if top_k is None else top_k
    if not 1 <= top_k <= config.beam:  # the config checked its own top_k; this is a caller's override
        raise ValueError(f"top_k must be between 1 and the beam ({config.beam}), not {top_k!r}")
    beam_size, max_length = config.beam, config.max_length
    was_training = model.training
    model.eval()
    try:
        device = _model_device(model)
        spectra = {name: batch[name].to(device) for name in ("mz", "intensity", "peak_mask", "precursor_charge")}
        spectra["precursor_mass_da"] = batch["precursor_mass_da"].to(device=device, dtype=torch.float64)
        precursor_mass_da = spectra["precursor_mass_da"]
        constraint = None
        if config.mass_constraint:
            constraint = _MassConstraint(model.tokenizer, config.precursor_tolerance_ppm, config.isotope_offsets,
                                         device)
        found = _search(model, spectra, beam_size, max_length, constraint, use_cache)
        results = _ranked(model.tokenizer, *found, precursor_mass_da, constraint, top_k, require_complete=constraint is not None)
        missing = [b for b, predictions in enumerate(results) if not predictions]
        if missing:  # nothing fits the precursor: decode those spectra without the constraint
            index = torch.tensor(missing, dtype=torch.long, device=device)
            again = _search(model, {name: value[index] for name, value in spectra.items()}, beam_size, max_length, None, use_cache)
            fallback = _ranked(model.tokenizer, *again, precursor_mass_da[index], constraint, top_k, require_complete=False)
            for b, predictions in zip(missing, fallback):
                results[b] = predictions
        return results
    finally:
        if was_training:
            model.train()


def beam_search(
    model,
    batch: dict,
    beam_size: int = DEFAULTS.beam,
    top_k: int = DEFAULTS.top_k,
    max_length: int = DEFAULTS.max_length,
    precursor_tolerance_ppm: float | None = None,
    isotope_offsets: Sequence[int] | int = DEFAULTS.isotope_offsets,
    use_cache: bool = True,
) -> list[list[Prediction]]:
    """`search_batch` with the settings as keywords (the low-level entry point: the tests' and a notebook's).

    The defaults are `DecodeConfig`'s, except that the precursor-mass constraint is off unless a
    ``precursor_tolerance_ppm`` is given (a bare search asks nothing of the precursor).
    """
    config = DecodeConfig(beam=beam_size, top_k=top_k, max_length=max_length,
                          precursor_tolerance_ppm=precursor_tolerance_ppm, isotope_offsets=isotope_offsets)
    return search_batch(model, batch, config, use_cache=use_cache)


def greedy_decode(
    model,
    batch: dict,
    max_length: int = DEFAULTS.max_length,
    precursor_tolerance_ppm: float | None = None,
    isotope_offsets: Sequence[int] | int = DEFAULTS.isotope_offsets,
    use_cache: bool = True,
) -> list[list[Prediction]]:
    """Greedy decoding (beam search with one beam): the most probable token at each step."""
    return beam_search(
        model, batch, beam_size=1, top_k=1, max_length=max_length,
        precursor_tolerance_ppm=precursor_tolerance_ppm, isotope_offsets=isotope_offsets, use_cache=use_cache,
    )

"""Incremental decoding with cached keys and values, for transformer-shaped models.

The SequenceModel protocol recomputes the decoder over the whole prefix at
every step and, worse, projects the encoder memory to cross-attention keys and
values again for every beam at every step — most of beam search's time. For a
model built like :class:`renovo.model.SpectrumTransformer` (a
``torch.nn.TransformerDecoder`` fed by ``precursor_encoder``,
``token_embedding``, ``positional`` and read by ``head``) this module runs the
same arithmetic one position at a time: memory keys/values once per spectrum
(shared by its beams without copying), self-attention keys/values appended
per step and reordered with the beams.

The model's code is left alone. :func:`incremental_decoder` returns None for
a model of any other shape, and the beam search checks the cached logits
against ``model.next_token_logits`` on its first steps, falling back to the
protocol if they disagree (so a change to the model cannot silently change
predictions).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _supported(model) -> bool:
    decoder = getattr(model, "decoder", None)
    if not isinstance(decoder, nn.TransformerDecoder):
        return False
    if not all(hasattr(model, name) for name in ("precursor_encoder", "token_embedding", "positional", "head")):
        return False
    for layer in decoder.layers:
        if not isinstance(layer, nn.TransformerDecoderLayer):
            return False
        for attention in (layer.self_attn, layer.multihead_attn):
            if not (attention.batch_first and attention._qkv_same_embed_dim and attention.in_proj_weight is not None):
                return False
    return True


def incremental_decoder(model, memory, memory_mask, precursor_mass_da, precursor_charge, beams: int):
    """An :class:`IncrementalDecoder` for ``model``, or None if its shape is not supported."""
    if getattr(model, "training", False) or not _supported(model):
        return None
    return IncrementalDecoder(model, memory, memory_mask, precursor_mass_da, precursor_charge, beams)


def _heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(..., t, D) -> (..., heads, t, D/heads)."""
    *lead, t, d = x.shape
    return x.view(*lead, t, n_heads, d // n_heads).transpose(-3, -2)


class IncrementalDecoder:
    """Decoder state for ``spectra × beams`` rows (row = spectrum * beams + beam)."""

    def __init__(self, model, memory, memory_mask, precursor_mass_da, precursor_charge, beams: int):
        self.model = model
        self.layers = list(model.decoder.layers)
        self.final_norm = model.decoder.norm
        self.beams = beams
        self.spectra = memory.shape[0]
        self.step = 0
        # Memory keys (transposed) and values per spectrum, shared by its beams.
        self.memory_kv = []
        for layer in self.layers:
            attention = layer.multihead_attn
            d = attention.embed_dim
            weight, bias = attention.in_proj_weight, attention.in_proj_bias
            k = F.linear(memory, weight[d : 2 * d], None if bias is None else bias[d : 2 * d])
            v = F.linear(memory, weight[2 * d :], None if bias is None else bias[2 * d :])
            # Stored contiguous (keys pre-transposed) so no step copies them again.
            k_t = _heads(k, attention.num_heads).transpose(-1, -2).contiguous()  # (N, heads, head_dim, P)
            self.memory_kv.append((k_t, _heads(v, attention.num_heads).contiguous()))
        blocked = torch.zeros(memory_mask.shape, dtype=memory.dtype, device=memory.device)
        self.memory_bias = blocked.masked_fill(~memory_mask.bool(), float("-inf"))[:, None, None, :]  # (N, 1, 1, P)
        precursor = model.precursor_encoder(precursor_mass_da, precursor_charge).to(memory.dtype)  # (N, 1, D)
        self.first_input = precursor.repeat_interleave(beams, 0)  # (N*K, 1, D)
        self.self_kv: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(self.layers)

    def reorder(self, source: torch.Tensor) -> None:
        """Rows now continue the beams at ``source`` (N*K,)."""
        if self.beams == 1 or torch.equal(source, torch.arange(len(source), device=source.device)):
            return
        self.self_kv = [None if kv is None else (kv[0][source], kv[1][source]) for kv in self.self_kv]

    def _self_attention(self, index: int, attention: nn.MultiheadAttention, x: torch.Tensor) -> torch.Tensor:
        q, k, v = F.linear(x, attention.in_proj_weight, attention.in_proj_bias).chunk(3, dim=-1)  # (R, 1, D) each
        q, k, v = (_heads(t, attention.num_heads) for t in (q, k, v))  # (R, heads, 1, head_dim)
        cached = self.self_kv[index]
        if cached is not None:
            k, v = torch.cat([cached[0], k], dim=2), torch.cat([cached[1], v], dim=2)
        self.self_kv[index] = (k, v)
        out = F.scaled_dot_product_attention(q, k, v)  # (R, heads, 1, head_dim); the newest position sees all
        return attention.out_proj(out.transpose(1, 2).reshape(x.shape))

    def _cross_attention(self, index: int, attention: nn.MultiheadAttention, x: torch.Tensor) -> torch.Tensor:
        d = attention.embed_dim
        bias = attention.in_proj_bias
        q = F.linear(x, attention.in_proj_weight[:d], None if bias is None else bias[:d])  # (R, 1, D)
        heads = attention.num_heads
        # The beams of a spectrum are the query rows of one attention over its memory.
        q = q.view(self.spectra, self.beams, heads, d // heads).transpose(1, 2)  # (N, h, K, hd)
        k_t, v = self.memory_kv[index]  # (N, h, hd, P), (N, h, P, hd)
        scores = q @ k_t / ((d // heads) ** 0.5) + self.memory_bias  # (N, h, K, P)
        out = torch.softmax(scores, dim=-1) @ v  # (N, h, K, hd)
        return attention.out_proj(out.transpose(1, 2).reshape(x.shape))

    def _feed_forward(self, layer: nn.TransformerDecoderLayer, x: torch.Tensor) -> torch.Tensor:
        return layer.linear2(layer.dropout(layer.activation(layer.linear1(x))))

    @torch.no_grad()
    def logits(self, last_tokens: torch.Tensor | None) -> torch.Tensor:
        """Logits (N*K, vocab) of the next token; ``last_tokens`` (N*K,) are the tokens chosen at the
        previous step (ignored at step 0, where the precursor is the input)."""
        if self.step == 0:
            x = self.first_input
        else:
            x = self.model.token_embedding(last_tokens[:, None]).to(self.first_input.dtype)  # (R, 1, D)
        x = self.model.positional(x, offset=self.step)
        for index, layer in enumerate(self.layers):
            if layer.norm_first:
                x = x + self._self_attention(index, layer.self_attn, layer.norm1(x))
                x = x + self._cross_attention(index, layer.multihead_attn, layer.norm2(x))
                x = x + self._feed_forward(layer, layer.norm3(x))
            else:
                x = layer.norm1(x + self._self_attention(index, layer.self_attn, x))
                x = layer.norm2(x + self._cross_attention(index, layer.multihead_attn, x))
                x = layer.norm3(x + self._feed_forward(layer, x))
        if self.final_norm is not None:
            x = self.final_norm(x)
        self.step += 1
        return self.model.head(x[:, 0])

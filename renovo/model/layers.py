"""Decoder layers that own their attention and its key/value cache.

Written out (instead of ``torch.nn.TransformerDecoderLayer``) so incremental
decoding can keep each layer's self-attention keys/values and the encoder
memory's projected keys/values, as nanoGPT's model does. Parameter names match
``nn.TransformerDecoderLayer`` (``self_attn.in_proj_weight``,
``multihead_attn.out_proj``, ``linear1``, ``norm3``, …), so checkpoints
trained with the library layers load unchanged, and the arithmetic is the same
(post-norm by default, ReLU feed-forward). Attention runs on PyTorch's fused
``scaled_dot_product_attention``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(B, t, D) -> (B, heads, t, D/heads)."""
    batch, t, d = x.shape
    return x.view(batch, t, n_heads, d // n_heads).transpose(1, 2)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, t, hd) -> (B, t, heads·hd)."""
    batch, heads, t, hd = x.shape
    return x.transpose(1, 2).reshape(batch, t, heads * hd)


class Attention(nn.Module):
    """Multi-head attention with packed input projection (``nn.MultiheadAttention``'s layout)."""

    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.d_model = d_model
        self.dropout = dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model))
        self.out_proj = nn.Linear(d_model, d_model)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def _project(self, x: torch.Tensor, part: slice) -> torch.Tensor:
        return F.linear(x, self.in_proj_weight[part], self.in_proj_bias[part])

    def _attend(self, q, k, v, mask=None, causal=False) -> torch.Tensor:
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal)
        return self.out_proj(_merge_heads(out))

    def self_attention(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """Causal self-attention over x (B, t, D). With ``cache`` (a dict, filled in place), the keys and
        values of earlier calls are prepended: x then holds only the new positions."""
        d = self.d_model
        q, k, v = (_split_heads(self._project(x, slice(i * d, (i + 1) * d)), self.n_heads) for i in range(3))
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        # New positions are the last ones: with one new position it sees everything.
        causal = q.shape[2] > 1
        if causal and k.shape[2] != q.shape[2]:
            raise ValueError("several new positions with a non-empty cache are not supported")
        return self._attend(q, k, v, causal=causal)

    def memory_keys_values(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected keys and values of the encoder memory (N, P, D) -> 2 × (N, heads, P, hd)."""
        d = self.d_model
        k = _split_heads(self._project(memory, slice(d, 2 * d)), self.n_heads)
        v = _split_heads(self._project(memory, slice(2 * d, 3 * d)), self.n_heads)
        return k, v

    def cross_attention(self, x: torch.Tensor, keys_values, memory_allowed: torch.Tensor) -> torch.Tensor:
        """x (N·K, t, D) queries; keys/values (N, heads, P, hd) shared by the K rows of each spectrum;
        memory_allowed (N, P) bool, True = real position."""
        k, v = keys_values
        spectra = k.shape[0]
        rows, t, d = x.shape
        beams = rows // spectra
        q = _split_heads(self._project(x, slice(0, self.d_model)), self.n_heads)  # (N·K, h, t, hd)
        # The beams of a spectrum become extra query positions of one attention over its memory.
        q = q.view(spectra, beams, self.n_heads, t, -1).transpose(1, 2).reshape(spectra, self.n_heads, beams * t, -1)
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=memory_allowed[:, None, None, :], dropout_p=p)
        out = out.view(spectra, self.n_heads, beams, t, -1).transpose(1, 2).reshape(rows, self.n_heads, t, -1)
        return self.out_proj(_merge_heads(out))


class DecoderLayer(nn.Module):
    """Self-attention, cross-attention, feed-forward; post-norm unless ``norm_first``."""

    def __init__(self, d_model: int, n_heads: int, dim_feedforward: int, dropout: float, norm_first: bool):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = Attention(d_model, n_heads, dropout)
        self.multihead_attn = Attention(d_model, n_heads, dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout3(self.linear2(self.dropout(F.relu(self.linear1(x)))))

    def forward(self, x, memory_kv, memory_allowed, cache: dict | None = None) -> torch.Tensor:
        if self.norm_first:
            x = x + self.dropout1(self.self_attn.self_attention(self.norm1(x), cache))
            x = x + self.dropout2(self.multihead_attn.cross_attention(self.norm2(x), memory_kv, memory_allowed))
            return x + self._feed_forward(self.norm3(x))
        x = self.norm1(x + self.dropout1(self.self_attn.self_attention(x, cache)))
        x = self.norm2(x + self.dropout2(self.multihead_attn.cross_attention(x, memory_kv, memory_allowed)))
        return self.norm3(x + self._feed_forward(x))


class Decoder(nn.Module):
    """A stack of decoder layers (``layers``), as ``nn.TransformerDecoder`` without a final norm."""

    def __init__(self, d_model: int, n_heads: int, dim_feedforward: int, dropout: float, norm_first: bool, n_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, n_heads, dim_feedforward, dropout, norm_first) for _ in range(n_layers)
        )

    def memory_keys_values(self, memory: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [layer.multihead_attn.memory_keys_values(memory) for layer in self.layers]

    def forward(self, x, memory_kv, memory_allowed, caches: list[dict] | None = None) -> torch.Tensor:
        """x (N·K, t, D) -> (N·K, t, D); ``caches`` one dict per layer for incremental decoding."""
        for index, layer in enumerate(self.layers):
            x = layer(x, memory_kv[index], memory_allowed, None if caches is None else caches[index])
        return x


__all__ = ["Attention", "Decoder", "DecoderLayer"]

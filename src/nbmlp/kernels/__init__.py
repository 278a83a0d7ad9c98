"""Compiled loops only, one module per part of the derivation (``docs/derivation.md``: each
formula beside the kernel that computes it).

Index legend used in every kernel (from the notation):
  s  sample in the mini-batch (N samples)
  i  neuron of the layer below (l neurons)     y_i, w_ij
  j  neuron of the layer computed (m neurons)   u_j, y_j, δ_j
  k  output neuron (n neurons)                  y_k, t_k, δ_k
  r, q  the same neurons as k, j, renamed as the index of a sum

Kernels take outputs first, then inputs, then scalars; they allocate nothing and return nothing
(except the drivers in ``passes`` and ``epoch``, which return a loss).
"""

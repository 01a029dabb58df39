"""The lecture's PDE and a finite-volume solver for it, the data of notebook 06.

    div(a grad u) + u = f  on the unit square D = (0, 1)^2,    u = 0 on its boundary.

Grid convention (cell-centred finite volumes). The square is cut into n x n cells of side
h = 1/n. Every field is an ``[n, n]`` array of values at the cell centres
``(x_j, y_i) = ((j + 1/2) h, (i + 1/2) h)``: the row index i runs along y, the column index j
along x, so ``plt.imshow(u, origin="lower")`` draws the square the usual way up.

The operator is the 5-point stencil of the flux form: across the face between two cells the
flux is ``a_face * (u_neighbour - u_cell) / h`` with ``a_face`` the harmonic mean of the two cell
values (exact for a coefficient that is constant per cell, the standard choice for Darcy flow);
across a boundary face the neighbour is the wall, at distance h/2, where u = 0.

Well-posedness. ``div(a grad .)`` is negative definite with zero boundary values: its largest
eigenvalue is at most ``-a_min * 2 pi^2`` (the Laplacian's first Dirichlet eigenvalue on the unit
square is 2 pi^2). The ``+u`` term shifts the spectrum up by 1, so for ``a_min > 1 / (2 pi^2) ~ 0.05``
the whole operator stays negative definite and the problem has exactly one solution for every f.
Our coefficients take the values 3 and 12 (the Darcy benchmark of the FNO paper), far above that.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import spsolve
from tqdm.auto import tqdm

from .checks import number
from .runtime import BUILD_DIR

__all__ = ["cell_centres", "assemble_operator", "solve", "random_field", "sample_coefficient",
           "sample_forcing", "make_pde_dataset", "relative_l2", "radial_spectrum", "A_LOW", "A_HIGH"]

#: the two values of the piecewise-constant coefficient (as in the FNO paper's Darcy data)
A_LOW, A_HIGH = 3.0, 12.0


def _check_field(name: str, field: np.ndarray) -> np.ndarray:
    field = np.asarray(field, dtype=np.float64)
    if field.ndim != 2 or field.shape[0] != field.shape[1] or field.shape[0] < 2:
        raise ValueError(f"{name} must be a square [n, n] array with n >= 2, got shape {field.shape}")
    if not np.isfinite(field).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return field


def cell_centres(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates ``(x, y)`` of the n x n cell centres, each ``[n, n]`` (x varies along columns)."""
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    c = (np.arange(n) + 0.5) / n
    return np.meshgrid(c, c, indexing="xy")


def assemble_operator(a: np.ndarray) -> sp.csr_matrix:
    """The sparse ``[n*n, n*n]`` matrix of ``u -> div(a grad u) + u`` (row-major unknowns)."""
    a = _check_field("a", a)
    if (a <= 0).any():
        raise ValueError("a must be positive everywhere")
    n = a.shape[0]
    h2 = (1.0 / n) ** 2
    index = np.arange(n * n).reshape(n, n)
    diag = np.zeros((n, n))
    rows, cols, vals = [], [], []
    # interior faces: harmonic mean of the two cells, once along x (columns), once along y (rows)
    for axis in (0, 1):
        lo = [slice(None), slice(None)]
        hi = [slice(None), slice(None)]
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        a_lo, a_hi = a[tuple(lo)], a[tuple(hi)]
        t = 2 * a_lo * a_hi / (a_lo + a_hi) / h2
        i_lo, i_hi = index[tuple(lo)].ravel(), index[tuple(hi)].ravel()
        rows += [i_lo, i_hi]
        cols += [i_hi, i_lo]
        vals += [t.ravel(), t.ravel()]
        diag[tuple(lo)] -= t
        diag[tuple(hi)] -= t
    # boundary faces: the wall (u = 0) is half a cell away, so the flux is a * (0 - u) / (h / 2)
    wall = 2 * a / h2
    diag[0, :] -= wall[0, :]
    diag[-1, :] -= wall[-1, :]
    diag[:, 0] -= wall[:, 0]
    diag[:, -1] -= wall[:, -1]
    diag += 1.0  # the "+ u" term
    rows.append(index.ravel())
    cols.append(index.ravel())
    vals.append(diag.ravel())
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n * n, n * n))


def solve(a: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Solve ``div(a grad u) + u = f``, u = 0 on the boundary, by a sparse direct solve (SuperLU)."""
    a, f = _check_field("a", a), _check_field("f", f)
    if a.shape != f.shape:
        raise ValueError(f"a and f must have the same shape, got {a.shape} and {f.shape}")
    return spsolve(assemble_operator(a).tocsc(), f.ravel()).reshape(f.shape)


def random_field(n: int, rng: np.random.Generator, *, modes: int = 12, alpha: float = 2.0,
                 tau: float = 3.0, size: int = 1) -> np.ndarray:
    """Smooth Gaussian random fields ``[size, n, n]`` with covariance ~ (-Laplacian + tau^2)^(-alpha).

    The field is a finite Fourier series (wave numbers |k_x|, |k_y| <= ``modes``), so it is a
    function of (x, y), not of the grid: the same draw can be evaluated at any resolution, which
    is what the resolution-transfer test needs. Normalised to unit standard deviation.
    """
    number("n", n, low=2, integer=True)
    number("modes", modes, low=1, integer=True)
    number("size", size, low=1, integer=True)
    number("alpha", alpha, low=0, low_open=True)
    number("tau", tau, low=0)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    k = np.arange(-modes, modes + 1)
    kx, ky = np.meshgrid(k, k, indexing="xy")
    amplitude = (4 * math.pi ** 2 * (kx ** 2 + ky ** 2) + tau ** 2) ** (-alpha / 2)
    amplitude /= np.sqrt((amplitude ** 2).sum())
    coeff = (rng.standard_normal((size, *kx.shape)) + 1j * rng.standard_normal((size, *kx.shape))) * amplitude
    centres = (np.arange(n) + 0.5) / n
    waves = np.exp(2j * math.pi * np.outer(centres, k))  # [n, 2 modes + 1]
    return np.einsum("ik,skl,jl->sij", waves, coeff, waves).real


def sample_coefficient(n: int, rng: np.random.Generator, size: int = 1) -> np.ndarray:
    """Piecewise-constant coefficients ``[size, n, n]``: 12 where a random field is >= 0, else 3."""
    return np.where(random_field(n, rng, size=size) >= 0, A_HIGH, A_LOW)


def sample_forcing(n: int, rng: np.random.Generator, size: int = 1) -> np.ndarray:
    """Smooth forcings ``[size, n, n]``: 1 plus a smoother random field (fewer, faster-decaying modes)."""
    return 1.0 + random_field(n, rng, modes=6, alpha=3.0, size=size)


def make_pde_dataset(num: int, n: int, seed: int, *, resolutions: tuple[int, ...] = (),
                     cache_dir: str | Path | None = BUILD_DIR / "pde", desc: str | None = None) -> dict:
    """``num`` samples ``{"a", "f", "u"}`` (float32 tensors ``[num, n, n]``) and the solver time.

    Sample k uses the generator ``default_rng([seed, k])``, so the same k gives the same
    functions a and f at every resolution: ``resolutions`` adds the same samples at other grid
    sizes under keys like ``"a@64"``. Results are cached in ``cache_dir`` under a name made of the
    parameters (delete the folder to regenerate; ``cache_dir=None`` disables the cache).
    """
    if num < 1 or n < 2:
        raise ValueError(f"num >= 1 and n >= 2 are required, got num={num}, n={n}")
    params = {"num": num, "n": n, "seed": seed, "resolutions": list(resolutions), "version": 1}
    path = None
    if cache_dir is not None:
        key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
        path = Path(cache_dir) / f"pde_n{n}_num{num}_seed{seed}_{key}.pt"
        if path.exists():
            return torch.load(path, map_location="cpu", weights_only=True)
    out: dict = {}
    seconds = {}
    for res in (n, *resolutions):
        suffix = "" if res == n else f"@{res}"
        a_all, f_all, u_all = [], [], []
        t_solve = 0.0
        for k in tqdm(range(num), desc=desc or f"solving {num} PDEs at {res}x{res}", mininterval=1.0):
            rng = np.random.default_rng([seed, k])
            a, f = sample_coefficient(res, rng)[0], sample_forcing(res, rng)[0]
            t0 = time.perf_counter()
            u = solve(a, f)
            t_solve += time.perf_counter() - t0
            a_all.append(a)
            f_all.append(f)
            u_all.append(u)
        for name, arr in (("a", a_all), ("f", f_all), ("u", u_all)):
            out[name + suffix] = torch.tensor(np.stack(arr), dtype=torch.float32)
        seconds[res] = t_solve / num
    out["solver_seconds_per_sample"] = torch.tensor([seconds[r] for r in (n, *resolutions)])
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(out, path)
    return out


def relative_l2(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample ``||pred - target|| / ||target||`` over the last two dimensions."""
    for name, t in (("pred", pred), ("target", target)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}")
    scale = target.flatten(-2).norm(dim=-1)
    if (scale == 0).any():  # the error relative to nothing is undefined (the clamp gave 1e12)
        raise ValueError("target has a sample of zero norm: its relative error is undefined")
    return (pred - target).flatten(-2).norm(dim=-1) / scale


def radial_spectrum(field: np.ndarray) -> np.ndarray:
    """Mean power ``|F(k)|^2`` of an ``[n, n]`` field in rings of integer wave number |k| = 0, 1, ..."""
    field = _check_field("field", field)
    n = field.shape[0]
    power = np.abs(np.fft.fft2(field - field.mean())) ** 2 / n ** 4
    k = np.fft.fftfreq(n, d=1.0 / n)
    radius = np.rint(np.hypot(*np.meshgrid(k, k))).astype(int)
    sums = np.bincount(radius.ravel(), weights=power.ravel())
    counts = np.bincount(radius.ravel())
    return (sums / np.maximum(counts, 1))[: n // 2]

import math

import numpy as np
import pytest
import torch

from lecture_utils.models.neural_operator import (
    FNO2d,
    SpectralConv2d,
    UNetOperator,
    UNO2d,
    operator_inputs,
)
from lecture_utils.pde import (
    A_HIGH,
    A_LOW,
    assemble_operator,
    cell_centres,
    make_pde_dataset,
    radial_spectrum,
    random_field,
    relative_l2,
    sample_coefficient,
    solve,
)


def manufactured(n):
    """u = sin(pi x) sin(2 pi y) with a = 1 + x^2 + y; f = div(a grad u) + u worked out by hand."""
    x, y = cell_centres(n)
    u = np.sin(math.pi * x) * np.sin(2 * math.pi * y)
    ux = math.pi * np.cos(math.pi * x) * np.sin(2 * math.pi * y)
    uy = 2 * math.pi * np.sin(math.pi * x) * np.cos(2 * math.pi * y)
    a = 1 + x ** 2 + y
    return a, a * (-5 * math.pi ** 2 * u) + 2 * x * ux + uy + u, u


def test_manufactured_solution_converges_at_second_order():
    errors = [np.abs(solve(*manufactured(n)[:2]) - manufactured(n)[2]).max() for n in (16, 32, 64)]
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert errors[-1] < 1e-3
    assert all(1.9 < p < 2.1 for p in orders), orders


def test_boundary_condition_and_symmetry():
    rng = np.random.default_rng(0)
    a = sample_coefficient(16, rng)[0]
    A = assemble_operator(a)
    assert abs(A - A.T).max() < 1e-9
    # negative definite: the largest eigenvalue is below zero (well-posedness for a >= 3)
    assert np.linalg.eigvalsh(A.toarray()).max() < 0
    # zero Dirichlet walls: a constant field is not in the kernel, row sums are the wall terms plus 1
    n, h2 = 16, (1 / 16) ** 2
    sums = np.asarray(A.sum(axis=1)).reshape(n, n)
    assert np.allclose(sums[5:10, 5:10], 1.0)  # interior rows: fluxes cancel
    assert np.allclose(sums[0, 5], 1 - 2 * a[0, 5] / h2)  # a wall row loses the flux into u = 0
    # u extended by zero is smooth at the wall: the solution is small next to it and largest inside
    u = solve(np.ones((32, 32)), -np.ones((32, 32)))
    assert u[0].max() < 0.2 * u.max() and u.min() > 0


def test_too_small_coefficient_breaks_definiteness():
    # div(a grad) has top eigenvalue about -2 pi^2 a: below a = 1 / (2 pi^2) the "+u" term wins
    top = np.linalg.eigvalsh(assemble_operator(np.full((16, 16), 0.02)).toarray()).max()
    assert top > 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="positive"):
        assemble_operator(-np.ones((4, 4)))
    with pytest.raises(ValueError, match="same shape"):
        solve(np.ones((4, 4)), np.ones((5, 5)))
    with pytest.raises(ValueError, match="square"):
        solve(np.ones((4, 5)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="NaN"):
        solve(np.full((4, 4), np.nan), np.ones((4, 4)))
    with pytest.raises(ValueError, match="same shape"):
        relative_l2(torch.ones(2, 4, 4), torch.ones(2, 4, 5))


def test_random_field_is_resolution_independent():
    coarse = random_field(16, np.random.default_rng(3))[0]
    fine = random_field(32, np.random.default_rng(3))[0]
    # the same function: the fine grid's 2x2 averages are close to the coarse samples
    assert np.abs(fine.reshape(16, 2, 16, 2).mean((1, 3)) - coarse).max() < 0.1 * np.abs(coarse).max()
    g = random_field(32, np.random.default_rng(0), size=200)
    assert 0.8 < g.std() < 1.2 and abs(g.mean()) < 0.2
    assert set(np.unique(sample_coefficient(8, np.random.default_rng(0)))) <= {A_LOW, A_HIGH}


def test_dataset_cache(tmp_path):
    d = make_pde_dataset(3, 8, seed=5, resolutions=(16,), cache_dir=tmp_path)
    assert d["a"].shape == (3, 8, 8) and d["u@16"].shape == (3, 16, 16)
    assert len(list(tmp_path.iterdir())) == 1
    again = make_pde_dataset(3, 8, seed=5, resolutions=(16,), cache_dir=tmp_path)
    assert torch.equal(d["u"], again["u"])
    a, f = d["a"][0].double().numpy(), d["f"][0].double().numpy()
    assert np.allclose(solve(a, f), d["u"][0].numpy(), atol=1e-6)


def test_radial_spectrum_of_a_single_wave():
    x, y = cell_centres(32)
    spectrum = radial_spectrum(np.cos(2 * math.pi * 3 * x))
    assert spectrum.argmax() == 3 and spectrum[[0, 1, 2, 4, 5]].max() < 1e-12


@pytest.mark.parametrize("n", [32, 64])
def test_spectral_layer_and_fno_shapes_at_two_resolutions(n):
    layer = SpectralConv2d(3, 5, modes=6)
    assert layer(torch.rand(2, 3, n, n)).shape == (2, 5, n, n)
    a, f = torch.full((2, n, n), A_LOW), torch.rand(2, n, n)
    assert operator_inputs(a, f).shape == (2, 4, n, n)
    fno = FNO2d(width=8, modes=6, depth=2)
    assert fno(a, f).shape == (2, n, n)
    assert UNetOperator(widths=(4, 8, 16))(a, f).shape == (2, n, n)


def test_spectral_layer_keeps_only_low_modes():
    layer = SpectralConv2d(1, 1, modes=4)
    x, _ = cell_centres(32)
    high = torch.tensor(np.cos(2 * math.pi * 10 * x), dtype=torch.float32)[None, None]
    low = torch.tensor(np.cos(2 * math.pi * 2 * x), dtype=torch.float32)[None, None]
    with torch.no_grad():
        assert layer(high).abs().max() < 1e-5
        assert layer(low).abs().max() > 1e-4
    with pytest.raises(ValueError, match="too small"):
        layer(torch.rand(1, 1, 6, 6))


def test_fno_gradients_flow():
    fno = FNO2d(width=8, modes=4, depth=2)
    a, f, u = torch.full((2, 16, 16), A_HIGH), torch.rand(2, 16, 16), torch.rand(2, 16, 16)
    relative_l2(fno(a, f), u).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in fno.parameters())


def test_spectral_layer_resamples_the_same_function_on_another_grid():
    """A band-limited input's image on a 16x16 grid is the 32x32 image, sampled at the coarse cells' centres."""
    torch.manual_seed(0)
    layer = SpectralConv2d(2, 3, modes=4)
    x, y = cell_centres(32)
    smooth = torch.tensor(np.stack([np.cos(2 * math.pi * x) + np.sin(2 * math.pi * 2 * y), np.cos(2 * math.pi * (x + y))]),
                          dtype=torch.float32)[None]
    with torch.no_grad():
        fine = layer(smooth)
        coarse = layer(smooth, size=(16, 16))
        coarse_from_coarse = layer(smooth[..., ::2, ::2])
    # the inverse FFT samples at the grid's points k / 16 of the period: the 32-grid's points 0, 2, 4, ...
    torch.testing.assert_close(coarse, fine[..., ::2, ::2], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(coarse, coarse_from_coarse, atol=1e-5, rtol=1e-4)  # and the input's grid does not matter
    assert fine.shape == (1, 3, 32, 32) and coarse.shape == (1, 3, 16, 16)
    with pytest.raises(ValueError, match="output"):
        layer(smooth, size=(6, 6))


@pytest.mark.parametrize("n", [32, 64])
def test_uno_runs_on_two_grids_and_its_gradients_flow(n):
    uno = UNO2d(width=4)
    a, f = torch.full((2, n, n), A_HIGH), torch.rand(2, n, n)
    out = uno(a, f)
    assert out.shape == (2, n, n)
    relative_l2(out, torch.rand(2, n, n)).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in uno.parameters())
    with pytest.raises(ValueError, match="modes"):
        UNO2d(modes=(8, 4))


def test_multiresolution_training_alternates_the_grids():
    """A list of data sets: step i trains on set i % 2 (the model sees both grid sizes); a single set in a
    list trains exactly as the set itself."""
    from lecture_utils.train import train_operator

    def data(n, seed):
        g = torch.Generator().manual_seed(seed)
        return {k: torch.rand(8, n, n, generator=g) for k in ("a", "f", "u")}

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w, self.sizes = torch.nn.Parameter(torch.ones(())), []

        def forward(self, a, f):
            self.sizes.append(a.shape[-1])
            return self.w * f

    model = Recorder()
    train_operator(model, [data(8, 0), data(16, 1)], 4, batch_size=4)
    assert model.sizes[:4] == [8, 16, 8, 16]
    plain, listed = Recorder(), Recorder()
    h1 = train_operator(plain, data(8, 0), 3, batch_size=4)
    h2 = train_operator(listed, [data(8, 0)], 3, batch_size=4)
    assert h1 == h2
    with pytest.raises(ValueError, match="data"):
        train_operator(Recorder(), [], 1)
    with pytest.raises(ValueError, match="batch_size"):
        train_operator(Recorder(), [data(8, 0), {k: v[:2] for k, v in data(16, 1).items()}], 1, batch_size=4)

"""The PCM noise model's statistics against its formulas, the converters, the analog layers.

Every sampled statistic is compared with the formula within a few standard errors, with
fixed seeds (so the tests are deterministic); hand-computed values pin the formulas to
aihwkit's published fit.
"""
from __future__ import annotations

import math
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch")

from hwloop.sim.noise import (  # noqa: E402
    AnalogNoise,
    Converters,
    PCMNoiseModel,
    analog_layers,
    convert_to_analog,
    drift_analog,
    program_analog,
)
from hwloop.sim.noise._analog_noise import (  # noqa: E402
    analog_mvm,
    draw_drift_exponents,
    drift_conductances,
    drift_exponent_stats,
    program_conductances,
    programming_noise_std,
    read_noise_std,
    to_conductance_pair,
)
from hwloop.traces import InputError  # noqa: E402

PCM = PCMNoiseModel()
N = 200_000
G_REL = (0.1, 0.25, 0.5, 0.75, 1.0)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _full(g_rel: float, n: int = N) -> torch.Tensor:
    return torch.full((n,), g_rel * PCM.g_max_us, dtype=torch.float64)


def _folded_normal(mu: float, sigma: float) -> tuple[float, float]:
    """Mean and standard deviation of |X| for X ~ N(mu, sigma)."""
    phi = 0.5 * (1 + math.erf(-mu / (sigma * math.sqrt(2))))
    mean = sigma * math.sqrt(2 / math.pi) * math.exp(-mu ** 2 / (2 * sigma ** 2)) + mu * (1 - 2 * phi)
    return mean, math.sqrt(mu ** 2 + sigma ** 2 - mean ** 2)


# --- formulas pinned to hand-computed values of aihwkit's fit ------------------------------

def test_programming_polynomial_hand_values():
    g = torch.tensor([0.0, 12.5, 25.0], dtype=torch.float64)
    expected = [0.26348, 0.26348 + 1.9650 * 0.5 - 1.1731 * 0.25, 0.26348 + 1.9650 - 1.1731]
    assert programming_noise_std(g, PCM).tolist() == pytest.approx(expected, rel=1e-12)
    # fitted at 25 uS: at another g_max the polynomial scales with it
    pcm50 = replace(PCM, g_max_us=50.0)
    assert programming_noise_std(2 * g, pcm50).tolist() == pytest.approx(
        [2 * e for e in expected], rel=1e-12)


def test_drift_exponent_fit_hand_values():
    g = torch.tensor([0.5, 0.01, 0.0], dtype=torch.float64) * PCM.g_max_us
    mean, std = drift_exponent_stats(g, PCM)
    # ln(0.5): mu = 0.0351 -> clipped up to 0.049; sigma = 0.0028 -> clipped up to 0.008
    # ln(0.01): mu = 0.0958; sigma = 0.0517 -> clipped down to 0.045; g = 0: both at the top
    assert mean.tolist() == pytest.approx([0.049, -0.0155 * math.log(0.01) + 0.0244, 0.1])
    assert std.tolist() == pytest.approx([0.008, 0.045, 0.045])


def test_read_noise_hand_values():
    g = torch.tensor([0.5 * PCM.g_max_us, 1e-6], dtype=torch.float64)
    t = 3600.0
    root = math.sqrt(math.log((t + 20.0 + 250e-9) / (2 * 250e-9)))
    assert read_noise_std(g, t, PCM).tolist() == pytest.approx(
        [0.0088 / 0.5 ** 0.65 * root, 0.2 * root], rel=1e-12)


# --- sampled statistics against the formulas --------------------------------------------------

@pytest.mark.parametrize("g_rel", G_REL)
def test_programmed_conductance_mean_and_std(g_rel):
    g = _full(g_rel)
    sigma = float(programming_noise_std(g[:1], PCM))
    prog = program_conductances(g, PCM, _gen(1))
    assert abs(float(prog.mean()) - g[0].item()) < 4 * sigma / math.sqrt(N)
    assert abs(float(prog.std()) - sigma) < 4 * sigma / math.sqrt(2 * N)


def test_programmed_zero_conductance_is_half_normal():
    """A device meant to be off gets programming noise clipped at 0 S."""
    sigma = 0.26348
    prog = program_conductances(_full(0.0), PCM, _gen(2))
    assert float((prog == 0).float().mean()) == pytest.approx(0.5, abs=4 * 0.5 / math.sqrt(N))
    assert float(prog.mean()) == pytest.approx(sigma / math.sqrt(2 * math.pi), rel=0.01)


@pytest.mark.parametrize("g_rel", (0.001, 0.01, 0.1, 0.5, 1.0))
def test_drift_exponent_distribution(g_rel):
    g = _full(g_rel)
    mu, sigma = (float(v[0]) for v in drift_exponent_stats(g[:1], PCM))
    want_mean, want_std = _folded_normal(mu, sigma)
    nu = draw_drift_exponents(g, PCM, _gen(3))
    assert bool((nu >= 0).all())
    assert abs(float(nu.mean()) - want_mean) < 4 * want_std / math.sqrt(N)
    assert abs(float(nu.std()) - want_std) < 4 * want_std / math.sqrt(2 * N) + 1e-4 * want_std


@pytest.mark.parametrize("t", (1.0, 3600.0, 31536000.0))
def test_drift_follows_the_power_law(t):
    pcm = replace(PCM, read_noise=False)
    g = _full(0.5, 1000)
    nu = draw_drift_exponents(g, pcm, _gen(4))
    drifted = drift_conductances(g, nu, torch.zeros_like(g), t, pcm)
    recovered = -torch.log(drifted / g) / math.log((t + 20.0) / 20.0)
    assert torch.allclose(recovered, nu, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("g_rel", (0.05, 0.5, 1.0))
def test_read_noise_grows_with_time_as_the_formula(g_rel):
    pcm = replace(PCM, drift=False)
    g = _full(g_rel)
    z = torch.randn(g.shape, generator=_gen(5), dtype=g.dtype)
    stds = []
    for t in (0.0, 1.0, 3600.0, 86400.0, 31536000.0):
        rel = (drift_conductances(g, torch.zeros_like(g), z, t, pcm) - g) / g
        want = float(read_noise_std(g[:1], t, pcm))
        assert abs(float(rel.std()) - want) < 4 * want / math.sqrt(2 * N)
        assert abs(float(rel.mean())) < 4 * want / math.sqrt(N)
        stds.append(float(rel.std()))
    assert stds == sorted(stds)
    # the 1/f law: std ~ sqrt(ln((t + t0 + t_read) / (2 t_read)))
    ratio = math.sqrt(math.log((31536020 + 250e-9) / 5e-7) / math.log((21 + 250e-9) / 5e-7))
    assert stds[-1] / stds[1] == pytest.approx(ratio, rel=0.02)


def test_switched_off_terms_do_nothing():
    off = PCM.off()
    g = _full(0.3, 100)
    assert torch.equal(program_conductances(g, off, _gen()), g)
    nu = draw_drift_exponents(g, off, _gen())
    assert torch.equal(drift_conductances(g, nu, torch.randn(g.shape, dtype=g.dtype), 86400.0, off), g)


# --- mapping and converters ---------------------------------------------------------------

def test_differential_pair_mapping():
    w = torch.tensor([[0.5, -1.0, 0.0], [0.25, 0.0, -0.1]], dtype=torch.float64)
    g_plus, g_minus, scale = to_conductance_pair(w, 25.0, per_channel=False)
    assert float(g_minus.max()) == 25.0 and float(scale) == 25.0
    assert bool(((g_plus == 0) | (g_minus == 0)).all())
    assert torch.allclose((g_plus - g_minus) / scale, w)
    g_plus, g_minus, scale = to_conductance_pair(w, 25.0, per_channel=True)
    assert (g_plus + g_minus).amax(dim=1).tolist() == [25.0, 25.0]
    assert torch.allclose((g_plus - g_minus) / scale, w)


def test_dac_levels_and_adc_clipping():
    conv = Converters(dac_bits=7, adc_bits=9, output_noise=0.0, bound_management=False)
    x = torch.linspace(-1, 1, 10_001, dtype=torch.float64).reshape(-1, 1)
    one = torch.ones(1, dtype=torch.float64)
    y = analog_mvm(x, torch.ones(1, 1, dtype=torch.float64), one, replace(
        conv, noise_management=False, adc_bits=None), _gen())
    assert len(torch.unique(y)) == 2 ** 7 - 1  # 127 levels, step 2 / 126
    assert float(torch.diff(torch.unique(y)).min()) == pytest.approx(2 / 126)
    big = analog_mvm(torch.ones(1, 64, dtype=torch.float64), torch.ones(1, 64, dtype=torch.float64),
                     one, conv, _gen())
    assert float(big) == pytest.approx(12.0)  # clipped at the ADC bound
    managed = analog_mvm(torch.ones(1, 64, dtype=torch.float64),
                         torch.ones(1, 64, dtype=torch.float64), one,
                         replace(conv, bound_management=True), _gen())
    # input halved until the output fits: 1/8 on the DAC is 8/63, 64 x 8/63 = 8.127 on the
    # ADC (step 24/510) is 173 steps, times 8 again
    assert float(managed) == pytest.approx(8 * 173 * 24 / 510, rel=1e-9)


def test_output_noise_std():
    conv = Converters(dac_bits=None, adc_bits=None, output_noise=0.06, noise_management=False)
    x = torch.zeros(N, 1, dtype=torch.float64)
    y = analog_mvm(x, torch.ones(1, 1, dtype=torch.float64), torch.ones(1, dtype=torch.float64),
                   conv, _gen(6))
    assert float(y.std()) == pytest.approx(0.06, abs=4 * 0.06 / math.sqrt(2 * N))


# --- analog layers ----------------------------------------------------------------------------

def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 10)).eval()


def test_noiseless_analog_model_equals_digital():
    model = _model()
    x = torch.rand(16, 1, 8, 8)
    analog = convert_to_analog(model, AnalogNoise.ideal())
    program_analog(analog, 0)
    drift_analog(analog, 31536000.0)
    with torch.no_grad():
        assert torch.allclose(analog(x), model(x), rtol=1e-5, atol=1e-5)


def test_same_seed_same_outputs_other_seed_other_outputs():
    model, x = _model(), torch.rand(8, 1, 8, 8)
    outs = []
    for seed in (3, 3, 4):
        analog = convert_to_analog(model, AnalogNoise())
        program_analog(analog, seed)
        drift_analog(analog, 3600.0)
        with torch.no_grad():
            outs.append(analog(x))
    assert torch.equal(outs[0], outs[1])
    assert not torch.equal(outs[0], outs[2])


def test_global_drift_compensation_restores_the_mean_read():
    model = _model()
    noise = AnalogNoise.perfect_io()
    analog = convert_to_analog(model, noise)
    program_analog(analog, 0)
    drift_analog(analog, 31536000.0)
    for layer in analog_layers(analog):
        # the reference read (one-hot inputs) after programming over the same read at t
        assert layer.alpha == pytest.approx(float(layer.w_prog.abs().mean() / layer.w_now.abs().mean()),
                                            rel=1e-5)
        assert layer.alpha > 1.0  # conductances drift down


def test_bad_settings_name_the_field():
    cases = [(lambda: Converters(adc_bits=0), "adc_bits"), (lambda: Converters(dac_bits=1), "dac_bits"),
             (lambda: PCMNoiseModel(g_max_us=0), "g_max_us"),
             (lambda: PCMNoiseModel(t0_s=-1), "t0_s"),
             (lambda: AnalogNoise(weight_scale="row"), "weight_scale")]
    for make, name in cases:
        with pytest.raises(InputError) as info:
            make()
        assert info.value.field == name
    analog = convert_to_analog(_model(), AnalogNoise())
    program_analog(analog, 0)
    with pytest.raises(InputError) as info:
        drift_analog(analog, -1.0)
    assert info.value.field == "t_inference_s"

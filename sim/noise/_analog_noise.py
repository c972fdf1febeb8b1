"""PCM device noise and converter effects on a trained torch model, at inference.

The statistical PCM model is the one IBM's aihwkit fits to measured devices
(``PCMLikeNoiseModel``; Nandakumar et al., ICECS 2019, and Joshi et al., Nat. Commun. 11, 2473,
2020), written anew here from its published formulas. Conductances are in microsiemens (uS),
times in seconds, and ``g`` below is a target conductance of one device of a differential pair:

* programming noise: ``g_prog = max(0, g + sigma_prog(g) * N(0, 1))`` with
  ``sigma_prog = (c0 + c1 (g/g_max) + c2 (g/g_max)^2) * g_max / 25 uS``;
* drift: ``g(t) = g_prog * ((t + t0) / t0)^-nu``, ``t0 = 20 s``, with a drift exponent per
  device ``nu = |N(mu_nu, sigma_nu)|`` whose mean and spread fall with ``ln(g/g_max)``;
* 1/f read noise accumulated since programming: ``g(t) * (1 + Q_s(g) * sqrt(ln((t + t0 +
  t_read) / (2 t_read))) * N(0, 1))``, ``Q_s = 0.0088 / (g/g_max)^0.65`` (at most 0.2),
  ``t_read = 250 ns``;
* global drift compensation: the outputs are scaled by the ratio of the mean absolute output
  of a reference read (one-hot inputs) right after programming to the same read at ``t``.

As in aihwkit, a programmed pair is read back as one signed weight, and that weight is mapped
onto the pair again (one device on) before it drifts and gathers read noise.

The converters follow aihwkit's ``IOParameters``: each input vector is scaled by its absolute
maximum, quantised by a ``dac_bits`` DAC on ``[-input_bound, input_bound]`` (step ``2 bound /
(2^bits - 2)``), multiplied by the weights normalised to ``[-1, 1]``, given Gaussian output
noise, clipped to ``+-output_bound`` and quantised by an ``adc_bits`` ADC; an input whose output
clips is retried at half scale (iterative bound management).

This module imports torch; ``import hwloop.sim`` does not import this module.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

import torch

from hwloop.traces import InputError

#: Programming-noise polynomial in ``g/g_max`` (uS at g_max = 25 uS); aihwkit's published fit.
PROG_COEFFS_US = (0.26348, 1.9650, -1.1731)
PROG_COEFFS_G_MAX_US = 25.0
#: Drift exponent fit: ``mu = a ln(g/g_max) + b`` clipped to [lo, hi]; the same for sigma.
NU_MEAN_FIT = (-0.0155, 0.0244, 0.049, 0.1)
NU_STD_FIT = (-0.0125, -0.0059, 0.008, 0.045)
#: 1/f read noise: ``Q_s = q / max(g/g_max, floor)^power``, at most ``q_max``.
READ_Q_FIT = (0.0088, 0.65, 1e-3, 0.2)
#: Relative conductances below this count as this (the drift fit takes a logarithm).
G_REL_FLOOR = 1e-7
#: Iterative bound management halves an input at most this many times (aihwkit: factor 1000).
BOUND_MANAGEMENT_STEPS = 10


def _check(ok: bool, name: str, reason: str) -> None:
    if not ok:
        raise InputError(reason, field=name)


@dataclass(frozen=True, kw_only=True)
class PCMNoiseModel:
    """aihwkit's statistical PCM model; each term can be switched off or scaled."""

    g_max_us: float = 25.0
    t0_s: float = 20.0
    t_read_s: float = 250e-9
    programming_noise: bool = True
    drift: bool = True
    read_noise: bool = True
    prog_noise_scale: float = 1.0
    drift_scale: float = 1.0
    read_noise_scale: float = 1.0
    prog_coeffs_us: tuple[float, ...] = PROG_COEFFS_US
    prog_coeffs_g_max_us: float = PROG_COEFFS_G_MAX_US

    def __post_init__(self) -> None:
        for name in ("g_max_us", "t0_s", "t_read_s", "prog_coeffs_g_max_us"):
            value = getattr(self, name)
            _check(value > 0 and math.isfinite(value), name, f"must be positive, got {value}")
        for name in ("prog_noise_scale", "drift_scale", "read_noise_scale"):
            value = getattr(self, name)
            _check(value >= 0 and math.isfinite(value), name, f"must be >= 0, got {value}")
        _check(len(self.prog_coeffs_us) > 0, "prog_coeffs_us", "needs at least one coefficient")

    def off(self) -> "PCMNoiseModel":
        """The same model with every noise term switched off."""
        return replace(self, programming_noise=False, drift=False, read_noise=False)


@dataclass(frozen=True, kw_only=True)
class Converters:
    """DAC, ADC and output noise around the crossbar (aihwkit's forward ``IOParameters``).

    ``dac_bits=None`` or ``adc_bits=None`` is an ideal converter (no clipping, no steps).
    """

    dac_bits: int | None = 7
    input_bound: float = 1.0
    noise_management: bool = True
    adc_bits: int | None = 9
    output_bound: float = 12.0
    output_noise: float = 0.06
    bound_management: bool = True

    def __post_init__(self) -> None:
        for name in ("dac_bits", "adc_bits"):
            bits = getattr(self, name)
            _check(bits is None or (isinstance(bits, int) and 2 <= bits <= 32), name,
                   f"must be an integer from 2 to 32 (or None: ideal), got {bits}")
        for name in ("input_bound", "output_bound"):
            value = getattr(self, name)
            _check(value > 0 and math.isfinite(value), name, f"must be positive, got {value}")
        _check(self.output_noise >= 0 and math.isfinite(self.output_noise), "output_noise",
               f"must be >= 0, got {self.output_noise}")

    @classmethod
    def perfect(cls) -> "Converters":
        """Ideal converters and no output noise (aihwkit's ``forward.is_perfect``)."""
        return cls(dac_bits=None, noise_management=False, adc_bits=None, output_noise=0.0,
                   bound_management=False)


@dataclass(frozen=True, kw_only=True)
class AnalogNoise:
    """Everything an analog layer applies: device model, converters, compensation, mapping.

    ``weight_scale`` maps each layer's (``"layer"``) or each output channel's (``"channel"``)
    largest absolute weight to ``g_max``.
    """

    pcm: PCMNoiseModel = field(default_factory=PCMNoiseModel)
    converters: Converters = field(default_factory=Converters)
    drift_compensation: bool = True
    weight_scale: str = "layer"

    def __post_init__(self) -> None:
        _check(self.weight_scale in ("layer", "channel"), "weight_scale",
               f"must be 'layer' or 'channel', got {self.weight_scale!r}")

    @classmethod
    def perfect_io(cls) -> "AnalogNoise":
        """PCM noise and drift compensation with ideal converters (aihwkit's perfect IO)."""
        return cls(converters=Converters.perfect())

    @classmethod
    def ideal(cls, bits: int | None = None) -> "AnalogNoise":
        """No device noise and no output noise; converters of ``bits`` (None: ideal)."""
        conv = Converters(dac_bits=bits, adc_bits=bits, output_noise=0.0, output_bound=256.0,
                          noise_management=bits is not None, bound_management=False)
        return cls(pcm=PCMNoiseModel().off(), converters=conv, drift_compensation=False)

    def as_dict(self) -> dict:
        return {"pcm": {f.name: getattr(self.pcm, f.name) for f in fields(self.pcm)},
                "converters": {f.name: getattr(self.converters, f.name)
                               for f in fields(self.converters)},
                "drift_compensation": self.drift_compensation, "weight_scale": self.weight_scale}


# --- the device formulas (tensors in uS) -----------------------------------------------------

def programming_noise_std(g_us: torch.Tensor, pcm: PCMNoiseModel) -> torch.Tensor:
    """Standard deviation (uS) of programming noise at target conductance ``g_us``."""
    rel = g_us / pcm.g_max_us
    sigma = torch.zeros_like(g_us)
    for power, coeff in enumerate(pcm.prog_coeffs_us):
        sigma = sigma + coeff * rel ** power
    return sigma * (pcm.g_max_us / pcm.prog_coeffs_g_max_us) * pcm.prog_noise_scale


def drift_exponent_stats(g_us: torch.Tensor, pcm: PCMNoiseModel) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and spread of the Gaussian the drift exponent ``nu`` is drawn from (then ``|.|``)."""
    log_rel = torch.log((g_us.abs() / pcm.g_max_us).clamp(min=G_REL_FLOOR))
    (a, b, lo, hi), (c, d, slo, shi) = NU_MEAN_FIT, NU_STD_FIT
    return (a * log_rel + b).clamp(lo, hi), (c * log_rel + d).clamp(slo, shi)


def read_noise_std(g_us: torch.Tensor, t_s: float, pcm: PCMNoiseModel) -> torch.Tensor:
    """Relative standard deviation of the 1/f read noise accumulated up to ``t_s``."""
    q, power, floor, q_max = READ_Q_FIT
    q_s = (q / (g_us.abs() / pcm.g_max_us).pow(power).clamp(min=floor)).clamp(max=q_max)
    t = t_s + pcm.t0_s
    return q_s * math.sqrt(math.log((t + pcm.t_read_s) / (2 * pcm.t_read_s))) * pcm.read_noise_scale


def program_conductances(g_us: torch.Tensor, pcm: PCMNoiseModel,
                         generator: torch.Generator) -> torch.Tensor:
    """Programmed conductances: target plus programming noise, never negative."""
    noise = torch.randn(g_us.shape, generator=generator, dtype=g_us.dtype)
    if not pcm.programming_noise:
        return g_us.clone()
    return (g_us + programming_noise_std(g_us, pcm) * noise).clamp(min=0.0)


def draw_drift_exponents(g_us: torch.Tensor, pcm: PCMNoiseModel,
                         generator: torch.Generator) -> torch.Tensor:
    """One drift exponent ``nu`` per device, from its target conductance."""
    mean, std = drift_exponent_stats(g_us, pcm)
    z = torch.randn(g_us.shape, generator=generator, dtype=g_us.dtype)
    return (mean + std * z).abs() * pcm.drift_scale


def drift_conductances(g_prog: torch.Tensor, nu: torch.Tensor, z_read: torch.Tensor, t_s: float,
                       pcm: PCMNoiseModel) -> torch.Tensor:
    """Conductances ``t_s`` seconds after programming: drift, then accumulated read noise.

    ``z_read`` holds one standard normal per device (the same at every ``t_s`` for one seed).
    """
    if t_s < 0 or not math.isfinite(t_s):
        raise InputError(f"must be a finite time >= 0 s, got {t_s}", field="t_inference_s")
    g = g_prog
    if pcm.drift and t_s > 0:
        g = g * ((t_s + pcm.t0_s) / pcm.t0_s) ** (-nu)
    if pcm.read_noise:
        g = g + g.abs() * read_noise_std(g_prog, t_s, pcm) * z_read
    return g.clamp(min=0.0)


# --- weights <-> differential pairs, converters ---------------------------------------------

def _abs_max(w: torch.Tensor, per_channel: bool) -> torch.Tensor:
    if per_channel:
        return w.abs().amax(dim=1, keepdim=True).clamp(min=1e-12)
    return w.abs().max().clamp(min=1e-12)


def to_conductance_pair(w: torch.Tensor, g_max_us: float, per_channel: bool
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(g_plus, g_minus, us_per_weight)``: the largest |weight| maps to ``g_max_us``."""
    scale = g_max_us / _abs_max(w, per_channel)
    return (w * scale).clamp(min=0.0), (-w * scale).clamp(min=0.0), scale


def _quantise(x: torch.Tensor, bits: int | None, bound: float) -> torch.Tensor:
    if bits is None:
        return x
    step = 2.0 * bound / (2 ** bits - 2)
    return torch.round(x.clamp(-bound, bound) / step) * step


def analog_mvm(x: torch.Tensor, w: torch.Tensor, w_max: torch.Tensor, conv: Converters,
               generator: torch.Generator) -> torch.Tensor:
    """``x @ w.T`` through DAC, crossbar, output noise and ADC.

    ``w_max`` (a scalar, or one per output channel as ``(out, 1)``) is the weight programmed
    at ``g_max``: the crossbar sees ``w / w_max``, so drifted conductances give smaller
    signals against the same output noise and ADC steps.
    """
    w_norm = w / w_max
    x_scale = torch.ones(x.shape[0], 1, dtype=x.dtype)
    if conv.noise_management:
        x_scale = x.abs().amax(dim=1, keepdim=True).clamp(min=1e-12)
    y = torch.empty(x.shape[0], w.shape[0], dtype=x.dtype)
    todo = torch.arange(x.shape[0])
    for step in range(BOUND_MANAGEMENT_STEPS + 1):
        factor = 2.0 ** step
        x_in = _quantise(x[todo] / (x_scale[todo] * factor), conv.dac_bits, conv.input_bound)
        out = x_in @ w_norm.T
        if conv.output_noise > 0:
            out = out + conv.output_noise * torch.randn(out.shape, generator=generator,
                                                        dtype=out.dtype)
        clipped = (out.abs() >= conv.output_bound).any(dim=1)
        y[todo] = _quantise(out, conv.adc_bits, conv.output_bound) * factor
        if conv.adc_bits is None or not conv.bound_management or not bool(clipped.any()):
            break
        todo = todo[clipped]
    return y * x_scale * w_max.reshape(1, -1)


# --- analog layers ---------------------------------------------------------------------------

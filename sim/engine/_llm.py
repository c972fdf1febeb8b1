"""LLM inference: one prefill and ``gen`` decode steps of a decoder-only model, as one report.

The prefill runs the whole prompt (``hwloop.traces.decoder_step`` with ``tokens = context =
prompt``); decode step ``i`` (1..gen) runs one token per sequence attending to ``prompt +
i`` cached positions, reading the KV cache from DRAM. Every row carries its ``phase``
(``prefill`` / ``decode``) and ``step`` (0 for the prefill). Totals add ``ttft_s`` (the
prefill's time), ``tpot_s`` (the mean decode step's time) and ``tokens_per_s`` (tokens
generated over the whole run's time: ``batch * gen / (ttft + gen * tpot)``). These times
count each layer's DRAM prefetch before its first compute cycle (``prefetch_cycles``),
which a layer's ``total_cycles`` leaves out as SCALE-Sim's does: a decode step streams
its weights and KV cache from DRAM, and that fill is most of its time.
"""
from __future__ import annotations

from hwloop.arch import Accelerator
from hwloop.sim.arrays import energy_totals, model_for
from hwloop.sim.report import Report
from hwloop.traces import DecoderConfig, InputError, decoder_step

from ._keep import check_keepable
from ._simulate import hwloop_version, network_rows


def simulate_llm(config: DecoderConfig, accel: Accelerator, *, prompt: int, gen: int,
                 batch: int = 1, source: dict | None = None) -> Report:
    """The prefill and ``gen`` decode steps of ``config`` on ``accel``, for ``batch``
    sequences of ``prompt`` tokens."""
    for field, value in (("--prompt-len", prompt), ("--gen-len", gen), ("--batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if field ==
                                                                              "--gen-len" else 1):
            raise InputError(f"must be a {'non-negative' if field == '--gen-len' else 'positive'}"
                             f" integer, got {value!r}", field=field)
    model_for(accel).check(accel)
    steps = [("prefill", 0, decoder_step(config, tokens=prompt, context=prompt, batch=batch))]
    steps += [("decode", i, decoder_step(config, tokens=1, context=prompt + i, batch=batch))
              for i in range(1, gen + 1)]
    if accel.sram.keep_activations:
        check_keepable(steps[0][2], accel, traced=False, explicit=False, scalesim_compat=False)
    records: list[dict] = []
    seconds = {"prefill": 0.0, "decode": 0.0}
    for phase, step, network in steps:
        rows = network_rows(network, network.layers, accel, False, None)
        cycles = sum(row["total_cycles"] + (row.get("prefetch_cycles") or 0) for row in rows)
        seconds[phase] += cycles / (accel.clock_ghz * 1e9)
        records += [{**row, "phase": phase, "step": step} for row in rows]
    ttft = seconds["prefill"]
    tpot = seconds["decode"] / gen if gen else 0.0
    run = {"ttft_s": ttft, "tpot_s": tpot,
           "tokens_per_s": batch * gen / (ttft + gen * tpot) if gen else 0.0}
    config_out = {"hwloop_version": hwloop_version(), "accelerator": accel.to_dict(),
                  "workload": {"network": config.name, "prompt_len": prompt, "gen_len": gen,
                               "batch": batch, **(source or {})},
                  "scalesim_compat": False}
    return Report.from_records(records, config_out, accel.pes,
                               extra_totals={**energy_totals(records, accel), **run})

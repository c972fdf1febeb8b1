#!/usr/bin/env python3
"""Regenerate the SCALE-Sim v3 N:M sparsity goldens in ``tests/data/sparse/``.

The reference harness (``../shared/peers/scalesim/reference.py``) runs ``scalesim==3.0.0``
with sparsity off; this script imports it and turns its config's ``[sparsity]`` section on
(``SparsitySupport : true``, ``SparseRep``, layer-wise: ``OptimizedMapping : false``), runs
it on the sparse topologies of ``tests/data/topologies/`` and keeps the harness's per-layer
numbers plus SCALE-Sim's ``SPARSE_REPORT.csv`` (original filter words, filter + metadata
words, metadata words). ``ROW_WISE`` runs are SCALE-Sim's row-wise mode (``OptimizedMapping :
true`` with a ``BlockSize`` and ``RandomNumberGeneratorSeed``; WS only, as SCALE-Sim crashes
on OS and IS), kept as ``rowwise_*.json``.

Usage (from the repository root; about a minute)::

    SCALESIM_PYTHON=/path/to/venv/bin/python python tests/data/regenerate_sparse.py [--force]
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import io
import json
import os
import pathlib
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
HARNESS = pathlib.Path(os.environ.get(
    "SCALESIM_REFERENCE", HERE.parents[2] / "shared" / "peers" / "scalesim" / "reference.py"))
#: (topology, rows, cols, dataflow, (ifmap_kb, filter_kb, ofmap_kb), representation, USER
#: bandwidth or None for CALC)
MATRIX = [(topo, 8, 8, df, (64, 64, 64), "ellpack_block", None)
          for topo in ("sparse_conv", "sparse_gemm") for df in ("ws", "os", "is")] + [
    ("sparse_conv", 16, 4, "ws", (64, 64, 64), "csr", None),
    ("sparse_gemm", 4, 16, "ws", (64, 64, 64), "csc", None),
    ("sparse_conv", 8, 8, "ws", (1, 1, 1), "ellpack_block", None),
    ("sparse_gemm", 8, 8, "os", (1, 1, 1), "ellpack_block", None),
    ("sparse_conv", 8, 8, "ws", (4, 4, 4), "ellpack_block", 4),
    ("sparse_gemm", 8, 8, "os", (1, 1, 1), "ellpack_block", 2),
    *((("sparse_unaligned", 8, 8, df, (64, 64, 64), "ellpack_block", None)
       for df in ("ws", "os", "is"))),
    ("sparse_unaligned", 4, 16, "ws", (1, 1, 1), "ellpack_block", None),
]
#: Row-wise runs: (topology, rows, cols, (ifmap_kb, filter_kb, ofmap_kb), representation,
#: BlockSize, RandomNumberGeneratorSeed); all WS, CALC bandwidth.
ROW_WISE = [
    ("sparse_gemm", 8, 8, (64, 64, 64), "ellpack_block", 4, 40),
    ("sparse_conv", 8, 8, (64, 64, 64), "ellpack_block", 8, 40),
    ("sparse_conv", 16, 4, (64, 64, 64), "csr", 8, 40),
    ("sparse_gemm", 16, 4, (64, 64, 64), "csc", 4, 7),
    ("sparse_conv", 8, 8, (1, 1, 1), "ellpack_block", 4, 40),
    ("sparse_unaligned", 8, 8, (1, 1, 1), "csr", 8, 3),
]
LAYER_KEYS = ("name", "dims", "macs", "Sr_Sc_T", "row_fold", "col_fold", "total_cycles",
              "stall_cycles", "overall_util", "mapping_eff", "compute_util",
              "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "dram_ifmap_reads",
              "dram_filter_reads", "dram_ofmap_writes")


def harness(representation: str, row_wise: tuple[int, int] | None = None):
    """The reference module with its [sparsity] section switched on (``row_wise``: SCALE-Sim's
    OptimizedMapping with this (BlockSize, RandomNumberGeneratorSeed))."""
    spec = importlib.util.spec_from_file_location("scalesim_reference", HARNESS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    template = module.CFG_TEMPLATE
    assert "SparsitySupport : false" in template and "OptimizedMapping : false" in template
    module.CFG_TEMPLATE = template.replace("SparsitySupport : false", "SparsitySupport : true") \
        .replace("SparseRep : ellpack_block", f"SparseRep : {representation}")
    if row_wise is not None:
        assert "BlockSize : 8" in template and "RandomNumberGeneratorSeed : 40" in template
        module.CFG_TEMPLATE = module.CFG_TEMPLATE \
            .replace("OptimizedMapping : false", "OptimizedMapping : true") \
            .replace("BlockSize : 8", f"BlockSize : {row_wise[0]}") \
            .replace("RandomNumberGeneratorSeed : 40", f"RandomNumberGeneratorSeed : {row_wise[1]}")
    return module


def run(topo, rows, cols, dataflow, kb, representation, bandwidth=None, row_wise=None) -> dict:
    """One SCALE-Sim sparse run of ``tests/data/topologies/TOPO.csv``, trimmed."""
    result, sparse = run_path(HERE / "topologies" / f"{topo}.csv", rows, cols, dataflow, kb,
                              representation, bandwidth, row_wise)
    config = {**result["config"], "topology": f"tests/data/topologies/{topo}.csv",
              "sparse_rep": representation}
    if row_wise is not None:
        config.update(row_wise=True, block_size=row_wise[0], seed=row_wise[1])
    layers = [{**{k: layer[k] for k in LAYER_KEYS},
               "original_filter_words": float(s["Original Filter Storage"]),
               "filter_and_metadata_words": float(s["New Storage (Filter+Metadata)"]),
               "metadata_words": float(s["Filter Metadata Storage"])}
              for layer, s in zip(result["layers"], sparse)]
    return {"tool": "scalesim", "scalesim_version": result["scalesim_version"],
            "config": config, "layers": layers}


def run_path(topology: pathlib.Path, rows, cols, dataflow, kb, representation,
             bandwidth=None, row_wise=None) -> tuple[dict, list[dict]]:
    """The harness's JSON and SCALE-Sim's SPARSE_REPORT rows for one topology file
    (``bandwidth``: USER mode at that many words per cycle; None: CALC; ``row_wise``:
    (BlockSize, seed) of SCALE-Sim's row-wise mode)."""
    module = harness(representation, row_wise)
    with tempfile.TemporaryDirectory() as keep:
        sys.argv = ["reference.py", str(topology), "--rows",
                    str(rows), "--cols", str(cols), "--dataflow", dataflow, "--ifmap-kb",
                    str(kb[0]), "--filter-kb", str(kb[1]), "--ofmap-kb", str(kb[2]),
                    "--keep-dir", keep]
        if bandwidth is not None:
            sys.argv += ["--bw-mode", "USER", "--bw", str(bandwidth)]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            module.main()
        result = json.loads(out.getvalue())
        with open(pathlib.Path(keep) / "ref" / "SPARSE_REPORT.csv") as handle:
            sparse = [{k.strip(): v.strip() for k, v in row.items() if k and k.strip()}
                      for row in csv.DictReader(handle)]
    return result, sparse


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    outdir = HERE / "sparse"
    outdir.mkdir(exist_ok=True)
    for topo, rows, cols, dataflow, kb, rep, bandwidth in MATRIX:
        suffix = "" if kb == (64, 64, 64) else "_kb%d-%d-%d" % kb
        suffix += "" if bandwidth is None else f"_user{bandwidth}"
        out = outdir / f"{topo}_{rows}x{cols}_{dataflow}_{rep}{suffix}.json"
        if out.exists() and not args.force:
            continue
        tmp = out.with_suffix(".tmp")
        result = run(topo, rows, cols, dataflow, kb, rep, bandwidth)
        tmp.write_text(json.dumps(result, indent=1) + "\n")
        tmp.replace(out)
        print(f"wrote {out.name}", flush=True)
    for topo, rows, cols, kb, rep, block, seed in ROW_WISE:
        suffix = "" if kb == (64, 64, 64) else "_kb%d-%d-%d" % kb
        out = outdir / f"rowwise_{topo}_{rows}x{cols}_ws_{rep}_b{block}_s{seed}{suffix}.json"
        if out.exists() and not args.force:
            continue
        result = run(topo, rows, cols, "ws", kb, rep, row_wise=(block, seed))
        out.with_suffix(".tmp").write_text(json.dumps(result, indent=1) + "\n")
        out.with_suffix(".tmp").replace(out)
        print(f"wrote {out.name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

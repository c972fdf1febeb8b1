"""Reading SCALE-Sim topology CSVs: both formats, SCALE-Sim quirks, and located errors."""
from __future__ import annotations

import logging

import pytest

from hwloop.traces import InputError, Layer, LayerKind, load_topology, parse_topology

CONV_HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
               "Num Filter, Strides,")
GEMM_HEADER = "Layer, M, N, K,"


def _write(tmp_path, text, name="topo.csv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _load_error(tmp_path, text, name="bad.csv"):
    path = _write(tmp_path, text, name)
    with pytest.raises(InputError) as info:
        load_topology(path)
    return info.value, str(info.value)


# ---------------------------------------------------------------- conv format


def test_conv_rows_load(tmp_path):
    path = _write(tmp_path, f"{CONV_HEADER}\nconv1, 227, 227, 11, 11, 3, 96, 4,\n"
                            "conv2, 31, 31, 5, 5, 96, 256, 1,\n", name="tiny.csv")
    network = load_topology(path)
    assert network.name == "tiny"
    assert [layer.name for layer in network] == ["conv1", "conv2"]
    first = network.layers[0]
    assert first == Layer(name="conv1", ifmap_h=227, ifmap_w=227, filter_h=11, filter_w=11,
                          channels=3, num_filters=96, stride_h=4, stride_w=4)
    assert first.kind is LayerKind.CONV
    assert first.ofmap_h == first.ofmap_w == 55


def test_load_topology_name_override(tmp_path):
    path = _write(tmp_path, f"{CONV_HEADER}\nc, 8, 8, 3, 3, 2, 4, 1,\n")
    assert load_topology(path, name="custom").name == "custom"


def test_row_without_trailing_comma_keeps_its_stride(tmp_path):
    # SCALE-Sim's row.split(',')[:-1] would silently drop the stride here; hwloop keeps it.
    path = _write(tmp_path, f"{CONV_HEADER}\nc1, 9, 9, 3, 3, 4, 8, 2\nc2, 9, 9, 3, 3, 4, 8, 3,\n")
    first, second = load_topology(path)
    assert (first.stride_h, first.stride_w) == (2, 2)
    assert first.ofmap_h == 4
    assert (second.stride_h, second.stride_w) == (3, 3)


def test_trailing_whitespace_after_comma(tmp_path):
    path = _write(tmp_path, f"{CONV_HEADER}  \nc1 , 9 , 9 , 3 , 3 , 4 , 8 , 2 ,   \n")
    (layer,) = load_topology(path)
    assert layer.name == "c1" and layer.stride_h == 2 and layer.num_filters == 8


def test_dp_rows_are_depthwise(tmp_path):
    path = _write(tmp_path, f"{CONV_HEADER}\nb1_DP_dw3x3, 114, 114, 3, 3, 32, 1, 1,\n"
                            "pw, 112, 112, 1, 1, 32, 16, 1,\n")
    dw, pw = load_topology(path)
    assert dw.kind is LayerKind.DEPTHWISE
    assert dw.groups == dw.channels == 32
    assert dw.channel_group == 1
    assert dw.window_size == 9
    assert dw.num_filters == 1
    assert dw.macs == 32 * 112 * 112 * 9
    assert pw.kind is LayerKind.CONV and pw.groups == 1


def test_dp_is_case_sensitive(tmp_path):
    # SCALE-Sim checks for the substring 'DP'; a lower-case 'dp' is an ordinary conv.
    path = _write(tmp_path, f"{CONV_HEADER}\ndpconv, 10, 10, 3, 3, 4, 4, 1,\n")
    (layer,) = load_topology(path)
    assert layer.kind is LayerKind.CONV


def test_blank_lines_are_skipped(tmp_path):
    path = _write(tmp_path, f"\n{CONV_HEADER}\n\n   \nc1, 9, 9, 3, 3, 4, 8, 1,\n\n"
                            "c2, 9, 9, 3, 3, 4, 8, 1,\n\n\n")
    assert [layer.name for layer in load_topology(path)] == ["c1", "c2"]


def test_blank_lines_still_count_for_error_lines(tmp_path):
    _, message = _load_error(tmp_path, f"{CONV_HEADER}\n\nc1, 9, 9, 3, 3, 4, 8, 1,\n\n"
                                       "c2, 9, 9, 3, 3, 4, 8, two,\n")
    assert "bad.csv:5:" in message
    assert "Strides" in message


def test_headerless_conv_file(tmp_path):
    path = _write(tmp_path, "c1, 9, 9, 3, 3, 4, 8, 2,\n")
    (layer,) = load_topology(path)
    assert layer.kind is LayerKind.CONV and layer.stride_h == 2


def test_crlf_and_bom(tmp_path):
    text = f"{CONV_HEADER}\r\nc1, 9, 9, 3, 3, 4, 8, 2,\r\n"
    path = _write(tmp_path, b"\xef\xbb\xbf" + text.encode())
    (layer,) = load_topology(path)
    assert layer.name == "c1" and layer.stride_h == 2


def test_sparsity_field_is_read_into_the_layer(tmp_path, caplog):
    """SCALE-Sim's N:M column is each layer's ``sparsity`` (M:M is dense); only a run with
    sparsity support honours it (``tests/sim/test_sparsity.py``)."""
    path = _write(tmp_path, f"{CONV_HEADER}\nc1, 9, 9, 3, 3, 4, 8, 2, 2:4,\n"
                            "c2, 9, 9, 3, 3, 4, 8, 1, 1 : 4,\nc3, 9, 9, 3, 3, 4, 8, 1, 4:4,\n")
    with caplog.at_level(logging.WARNING, logger="hwloop.traces"):
        first, second, third = load_topology(path)
    assert first == Layer(name="c1", ifmap_h=9, ifmap_w=9, filter_h=3, filter_w=3, channels=4,
                          num_filters=8, stride_h=2, stride_w=2, sparsity=(2, 4))
    assert second.stride_h == 1 and second.sparsity == (1, 4) and third.sparsity is None
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_parse_topology_takes_lines():
    layers = parse_topology([CONV_HEADER, "c1, 9, 9, 3, 3, 4, 8, 2,"])
    assert len(layers) == 1 and layers[0].stride_w == 2


# ---------------------------------------------------------------- GEMM format


def test_gemm_header_is_detected(tmp_path):
    path = _write(tmp_path, f"{GEMM_HEADER}\nq_proj, 512, 768, 64,\n")
    (layer,) = load_topology(path)
    assert layer.kind is LayerKind.GEMM
    assert layer.name == "q_proj"


@pytest.mark.parametrize("header", ["Layer, M, N, K,", "layer,m,n,k", "Layer name, M, N, K"])
def test_gemm_header_variants(tmp_path, header):
    path = _write(tmp_path, f"{header}\ng, 4, 5, 6,\n")
    (layer,) = load_topology(path)
    assert layer.kind is LayerKind.GEMM and layer.gemm_mnk == (4, 5, 6)


def test_headerless_four_field_row_is_not_a_gemm(tmp_path):
    # Without a header, "g, 4, 5, 6" may be a GEMM or a conv row missing its last fields:
    # it is read as a conv row, and the error says how to mark a GEMM file.
    error, message = _load_error(tmp_path, "c1, 9, 9, 3,\n")
    assert (error.line, error.field) == (1, "Filter Width")
    assert "missing" in message and "Layer, M, N, K" in message


def test_gemm_lowering(tmp_path):
    m, n, k = 37, 19, 11
    path = _write(tmp_path, f"{GEMM_HEADER}\nmm, {m}, {n}, {k},\n")
    (layer,) = load_topology(path)
    assert layer == Layer.gemm("mm", m, n, k)
    assert (layer.ifmap_h, layer.ifmap_w) == (m, k)
    assert (layer.filter_h, layer.filter_w) == (1, k)
    assert layer.channels == 1
    assert layer.num_filters == n
    assert (layer.stride_h, layer.stride_w) == (1, 1)
    assert layer.ofmap_pixels == m
    assert layer.window_size == k
    assert layer.gemm_mnk == (m, n, k)
    assert layer.macs == m * n * k
    assert layer.groups == 1


def test_gemm_row_without_trailing_comma_keeps_k(tmp_path):
    path = _write(tmp_path, f"{GEMM_HEADER}\ng, 4, 5, 6\n")
    (layer,) = load_topology(path)
    assert layer.gemm_mnk == (4, 5, 6)


def test_gemm_errors_name_the_gemm_field(tmp_path):
    _, message = _load_error(tmp_path, f"{GEMM_HEADER}\ng, 4, 0, 6,\n")
    assert "bad.csv:2:" in message and "'N'" in message
    _, message = _load_error(tmp_path, f"{GEMM_HEADER}\ng, 4, 5, k,\n")
    assert "bad.csv:2:" in message and "'K'" in message
    _, message = _load_error(tmp_path, f"{GEMM_HEADER}\ng, 4, 5,\n")
    assert "bad.csv:2:" in message and "'K'" in message and "missing" in message


def test_gemm_file_cannot_hold_conv_rows(tmp_path):
    error, message = _load_error(tmp_path, f"{GEMM_HEADER}\ng, 4, 5, 6,\n"
                                           "c1, 9, 9, 3, 3, 4, 8, 2,\n")
    assert error.line == 3
    assert "bad.csv:3:" in message


# ---------------------------------------------------------------- errors


def test_error_non_integer_stride(tmp_path):
    error, message = _load_error(tmp_path, f"{CONV_HEADER}\nc1, 9, 9, 3, 3, 4, 8, 1.5,\n")
    assert (error.line, error.field) == (2, "Strides")
    assert "bad.csv" in message and ":2:" in message and "Strides" in message
    assert "1.5" in message
    assert message.startswith(str(tmp_path / "bad.csv"))


def test_error_zero_channels(tmp_path):
    error, message = _load_error(tmp_path, f"{CONV_HEADER}\nc1, 9, 9, 3, 3, 0, 8, 1,\n")
    assert "bad.csv" in message and ":2:" in message and "Channels" in message
    assert error.field == "Channels"


def test_error_negative_stride(tmp_path):
    _, message = _load_error(tmp_path, f"{CONV_HEADER}\nc1, 9, 9, 3, 3, 4, 8, -1,\n")
    assert "bad.csv" in message and ":2:" in message and "Strides" in message


@pytest.mark.parametrize("row, column", [("c1, 2, 9, 3, 3, 4, 8, 1,", "Filter Height"),
                                         ("c1, 9, 2, 3, 3, 4, 8, 1,", "Filter Width")])
def test_error_filter_larger_than_input(tmp_path, row, column):
    error, message = _load_error(tmp_path, f"{CONV_HEADER}\nok, 9, 9, 3, 3, 4, 8, 1,\n{row}\n")
    assert "bad.csv" in message and ":3:" in message and column in message
    assert error.field == column


def test_error_missing_field(tmp_path):
    error, message = _load_error(tmp_path, f"{CONV_HEADER}\nc1, 9, 9, 3, 3, 4,\n")
    assert "bad.csv" in message and ":2:" in message and "Num Filter" in message
    assert "missing" in message


def test_error_too_many_fields(tmp_path):
    error, message = _load_error(tmp_path, f"{CONV_HEADER}\nc1, 9, 9, 3, 3, 4, 8, 1, 7,\n")
    assert "bad.csv" in message and ":2:" in message and "9 fields" in message


def test_error_empty_layer_name(tmp_path):
    _, message = _load_error(tmp_path, f"{CONV_HEADER}\n , 9, 9, 3, 3, 4, 8, 1,\n")
    assert "bad.csv" in message and ":2:" in message and "Layer name" in message


@pytest.mark.parametrize("text", ["", "\n\n   \n"])
def test_error_empty_file(tmp_path, text):
    error, message = _load_error(tmp_path, text)
    assert "bad.csv" in message and ":1:" in message and "empty" in message
    assert error.line == 1


def test_error_header_without_layers(tmp_path):
    _, message = _load_error(tmp_path, f"{CONV_HEADER}\n\n")
    assert "bad.csv" in message and ":1:" in message and "no layers" in message


def test_error_binary_junk(tmp_path):
    _, message = _load_error(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    assert "bad.csv" in message and ":1:" in message and "binary" in message


def test_error_not_utf8(tmp_path):
    error, message = _load_error(tmp_path, CONV_HEADER.encode() + b"\nc\xe91, 9, 9, 3, 3, 4, 8, 1,\n")
    assert "bad.csv" in message and ":2:" in message and "UTF-8" in message
    assert error.line == 2


def test_error_missing_file(tmp_path):
    with pytest.raises(InputError) as info:
        load_topology(tmp_path / "nope.csv")
    assert "nope.csv" in str(info.value)


@pytest.mark.parametrize("name", ["nul\x00.csv", "a" * 300 + ".csv"])
def test_error_unopenable_path(tmp_path, name):
    with pytest.raises(InputError) as info:  # not ValueError/OSError from open()
        load_topology(tmp_path / name)
    assert "cannot read topology file" in str(info.value)


def test_input_error_is_a_value_error(tmp_path):
    error, _ = _load_error(tmp_path, f"{CONV_HEADER}\nc1, 9, 9, 3, 3, 4, 8, x,\n")
    assert isinstance(error, ValueError)
    assert error.source == str(tmp_path / "bad.csv")


# ---------------------------------------------------------------- numbers are ASCII digits


@pytest.mark.parametrize("cell", ["1_6", "\uff11\uff16", "\u0661\u0666", "16.0", "0x10", "1e1",
                                  "+ 16", "", "9" * 5000])
def test_only_ascii_digits_are_integers(tmp_path, cell):
    # int() takes the first three (underscores, full-width and Arabic-Indic digits).
    error, message = _load_error(tmp_path, f"{CONV_HEADER}\nok, 9, 9, 3, 3, 4, 8, 1,\n"
                                           f"c1, 9, 9, 3, 3, {cell}, 8, 1,\n")
    assert (error.line, error.field) == (3, "Channels")
    assert "not an integer" in message and len(message) < 300


def test_signed_integers_reach_the_range_check(tmp_path):
    (layer,) = load_topology(_write(tmp_path, f"{CONV_HEADER}\nc1, +9, 9, 3, 3, 4, 8, 1,\n"))
    assert layer.ifmap_h == 9
    error, message = _load_error(tmp_path, f"{CONV_HEADER}\nc1, 9, 9, 3, 3, -4, 8, 1,\n")
    assert error.field == "Channels" and "positive" in message


@pytest.mark.parametrize("cell", ["1_6", "\uff11\uff16"])
def test_bit_columns_take_only_ascii_digits(tmp_path, cell):
    error, _ = _load_error(tmp_path, f"{GEMM_HEADER} WeightBits,\ng, 4, 5, 6, {cell},\n")
    assert (error.line, error.field) == (2, "WeightBits")


def test_malformed_number_in_first_headerless_row_is_not_a_header(tmp_path):
    # A first row is a header only if its second cell holds no digit at all: a typo in a
    # headerless file's first layer is reported, not skipped as a header.
    error, _ = _load_error(tmp_path, "c1, 1_6, 9, 3, 3, 4, 8, 1,\nc2, 9, 9, 3, 3, 4, 8, 1,\n")
    assert (error.line, error.field) == (1, "IFMAP Height")


def test_lines_are_counted_as_an_editor_counts_them(tmp_path):
    # A form feed is whitespace inside a row, not a line break; a lone \r is a line break.
    path = _write(tmp_path, f"{CONV_HEADER}\nc1, 9, 9, 3,\x0c 3, 4, 8, 1,\n")
    (layer,) = load_topology(path)
    assert layer.filter_w == 3
    error, _ = _load_error(tmp_path, f"{CONV_HEADER}\rc1, 9, 9, 3, 3, 4, 8, 1,\rc2, x, 9,\r")
    assert error.line == 3


def test_row_errors_in_column_order(tmp_path):
    # A bad layer field comes before a bad bit-width column after it.
    error, _ = _load_error(tmp_path, "Layer, M, N, K, WeightBits,\ng, x, 5, 6, y,\n")
    assert (error.line, error.field) == (2, "M")
    error, _ = _load_error(tmp_path, "Layer, M, N, K, WeightBits,\ng, 4, 5, 6, 64,\n")
    assert (error.line, error.field) == (2, "WeightBits")


def test_the_network_is_named_by_the_file_stem_as_it_is(tmp_path):
    """``my.csv`` is network ``my`` (not ``My``): a user greps reports for the name they gave."""
    path = tmp_path / "my_Net.v2.csv"
    path.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                    "Channels, Num Filter, Strides,\nc1, 8, 8, 3, 3, 4, 8, 1,\n")
    assert load_topology(path).name == "my_Net.v2"

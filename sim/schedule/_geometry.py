"""Which input words a layer's windows touch: what the buffer walks' closed forms need."""
from __future__ import annotations

import functools

from hwloop.traces import Layer


@functools.lru_cache(maxsize=4096)
def touched_ifmap_words(layer: Layer) -> int:
    """Distinct input words some window reads (one channel group); strides may skip some."""
    return (_covered(layer.ifmap_h, layer.filter_h, layer.stride_h, layer.ofmap_h,
                     layer.dilation_h)
            * _covered(layer.ifmap_w, layer.filter_w, layer.stride_w, layer.ofmap_w,
                       layer.dilation_w)
            * layer.channel_group)


@functools.lru_cache(maxsize=4096)
def _covered(size: int, filt: int, stride: int, outputs: int, dilation: int = 1) -> int:
    """Input positions along one axis that some of ``outputs`` windows covers (taps
    ``dilation`` apart)."""
    if dilation == 1:
        end = 0
        total = 0
        for o in range(outputs):
            lo, hi = o * stride, min(o * stride + filt, size)
            total += max(0, hi - max(lo, end))
            end = max(end, hi)
        return total
    return len({o * stride + k * dilation for o in range(outputs) for k in range(filt)
                if o * stride + k * dilation < size})


@functools.lru_cache(maxsize=4096)
def windows_overlap(layer: Layer) -> bool:
    """Whether two output pixels may read a common input word (filter wider than the stride;
    with dilated taps, fewer positions covered than taps read along an axis)."""
    if layer.dilation_h == 1 and layer.dilation_w == 1:
        return ((layer.ofmap_w > 1 and layer.stride_w < layer.filter_w)
                or (layer.ofmap_h > 1 and layer.stride_h < layer.filter_h))
    return (_covered(layer.ifmap_h, layer.filter_h, layer.stride_h, layer.ofmap_h,
                     layer.dilation_h) < layer.ofmap_h * layer.filter_h
            or _covered(layer.ifmap_w, layer.filter_w, layer.stride_w, layer.ofmap_w,
                        layer.dilation_w) < layer.ofmap_w * layer.filter_w)


def ifmap_shape(layer: Layer) -> tuple[int, ...]:
    """The integers an ifmap walk reads of a layer, in the kernels' order."""
    return (layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w, layer.channel_group,
            layer.stride_h, layer.stride_w, layer.ofmap_h, layer.ofmap_w)

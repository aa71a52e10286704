"""The method rule's boundary tables, each row a problem just on one side of a threshold:
asserted of ``choose_method`` (tests/engine/test_algorithms.py, test_stacked.py, test_outrows.py,
test_winograd.py) and of the plans (tests/engine/test_plan.py). Data only, no tests."""


# The method rule's boundaries (x_shape, w_shape, want),
# also asserted of the plans (tests/engine/test_plan.py).
METHOD_BOUNDARIES = [
    ((8, 1, 64, 58, 58), (1, 64, 64, 3, 3), "rows"),        # large images, C_in ≥ 16
    ((8, 1, 16, 42, 42), (1, 64, 16, 3, 3), "rows"),        # 40² = 1600 outputs
    ((8, 1, 16, 41, 42), (1, 64, 16, 3, 3), "im2col"),      # 39·40 < 1600 outputs
    ((8, 1, 15, 58, 58), (1, 64, 15, 3, 3), "im2col"),      # C_in = 15 < 16
    ((8, 1, 64, 58, 58), (1, 64, 64, 1, 3), "im2col"),      # one kernel row: nothing to shift
    ((2, 1, 32, 18, 34, 34), (1, 16, 32, 3, 3, 3), "rows"),   # 3-d, large
    ((2, 1, 32, 8, 8, 8), (1, 16, 32, 3, 3, 3), "shift"),     # 3-d, 216 outputs, ΠK = 27
    ((2, 1, 31, 8, 8, 8), (1, 16, 31, 3, 3, 3), "im2col"),    # C_in = 31 < 32
    ((2, 1, 32, 8, 8, 8), (1, 16, 32, 2, 3, 4), "im2col"),    # ΠK = 24 < 25
    ((64, 1, 32, 30, 30), (1, 1, 32, 3, 3), "stacked"),     # C_out·ΠK = 9 ≤ C_in = 32
    ((64, 1, 32, 30, 30), (1, 4, 32, 3, 3), "im2col"),      # C_out·ΠK = 36 > 32
    ((8, 128, 1, 58, 58), (128, 1, 1, 3, 3), "shift"),      # depthwise
    ((8, 1, 64, 14, 14), (1, 64, 64, 1, 1), "shift"),       # pointwise: one plain matmul
    ((64, 1, 8, 3, 3), (1, 16, 8, 5, 5), "im2col"),         # kernel larger than the output
    ((1, 128, 8, 58, 58), (128, 1, 8, 56, 56), "window"),   # depthwise weight gradient
    ((1, 128, 8, 58, 58), (128, 4, 8, 56, 56), "window"),   # B·C_out = 4
    ((1, 128, 8, 58, 58), (128, 5, 8, 56, 56), "im2col"),   # B·C_out = 5
    ((4, 1, 16, 74, 74), (1, 16, 16, 11, 11), "fft"),       # large kernel
]


# The method rule's boundaries (x_shape, w_shape, compiled, numpy_only),
# also asserted of the plans (tests/engine/test_plan.py).
COMPILED_BOUNDARIES = [
    ((64, 1, 32, 30, 30), (1, 32, 32, 3, 3), "rows", "im2col"),       # C_out = C_in
    ((64, 1, 32, 30, 30), (1, 33, 32, 3, 3), "rows", "im2col"),       # C_out > C_in
    ((64, 1, 64, 16, 16), (1, 32, 64, 3, 3), "stacked", "im2col"),    # mnist_2's ∂x: C_out < C_in
    ((64, 1, 32, 16, 16), (1, 64, 32, 3, 3), "rows", "im2col"),       # mnist_2's forward
    ((64, 1, 8, 30, 30), (1, 1, 8, 3, 3), "stacked", "im2col"),       # C_out·ΠK = 9 > 8
    ((64, 1, 8, 30, 30), (1, 8, 8, 3, 3), "stacked", "im2col"),       # C_in = 8 < 16: not rows
    ((64, 1, 64, 12, 12), (1, 64, 64, 3, 3), "rows", "im2col"),       # 10² = 100 outputs
    ((64, 1, 64, 12, 11), (1, 64, 64, 3, 3), "im2col", "im2col"),     # 10·9 < 100: tiny images
    ((64, 1, 64, 12, 11), (1, 32, 64, 3, 3), "im2col", "im2col"),
    ((8, 1, 64, 58, 58), (1, 64, 64, 3, 3), "rows", "rows"),          # resnet_3x3
    ((8, 1, 64, 42, 42), (1, 32, 64, 3, 3), "rows", "rows"),          # 40² = 1600: rows, even
    ((8, 1, 64, 41, 42), (1, 32, 64, 3, 3), "stacked", "im2col"),     # for C_out < C_in
    ((2, 1, 32, 18, 34, 34), (1, 16, 32, 3, 3, 3), "rows", "rows"),     # conv3d's ∂x
    ((2, 1, 16, 18, 34, 34), (1, 32, 16, 3, 3, 3), "rows", "rows"),     # conv3d's forward
    ((16, 1, 64, 1028), (1, 64, 64, 5), "stacked", "im2col"),           # conv1d
]


# The method rule's boundaries (x_shape, w_shape, stride, dilation, want),
# also asserted of the plans (tests/engine/test_plan.py).
OUTROWS_BOUNDARIES = [
    # weight gradients: x (C_in, g, N, *S), ∂L/∂y (g, C_out, N, *M) as the kernel
    ((64, 1, 8, 58, 58), (1, 64, 8, 56, 56), (1, 1), (1, 1), "outrows"),   # resnet_3x3's ∂w
    ((22, 1, 8, 58, 58), (1, 64, 8, 56, 56), (1, 1), (1, 1), "outrows"),   # 22·3 = 66 rows
    ((21, 1, 8, 58, 58), (1, 64, 8, 56, 56), (1, 1), (1, 1), "im2col"),    # 21·3 = 63 < 64
    ((64, 1, 8, 58, 58), (1, 64, 8, 56, 56), (2, 2), (1, 1), "outrows"),   # any window step
    ((64, 1, 8, 59, 59), (1, 64, 8, 28, 28), (1, 1), (2, 2), "im2col"),    # dy dilated (s = 2)
    ((64, 1, 16, 1028), (1, 64, 16, 1024), (1,), (1,), "outrows"),         # conv1d's ∂w, no copy
    ((256, 1, 8, 14, 14), (1, 256, 8, 14, 14), (1, 1), (1, 1), "window"),  # one output: a
    ((256, 1, 64, 14, 14), (1, 256, 64, 14, 14), (1, 1), (1, 1), "window"),  # pointwise ∂w,
    ((256, 1, 65, 14, 14), (1, 256, 65, 14, 14), (1, 1), (1, 1), "im2col"),  # ≤ 64 matmuls
    ((256, 1, 8, 15, 14), (1, 256, 8, 14, 14), (1, 1), (1, 1), "outrows"),   # two outputs
]


# The method rule's boundaries (x_shape, w_shape, dtype, dilation, want),
# also asserted of the plans (tests/engine/test_plan.py).
WINOGRAD_BOUNDARIES = [
    # "direct": any method but Winograd
    ((8, 1, 64, 58, 58), (1, 64, 64, 3, 3), "float32", (1, 1), "winograd"),  # resnet_3x3
    ((8, 1, 64, 58, 58), (1, 64, 64, 3, 3), "float64", (1, 1), "rows"),      # the reference
    ((8, 1, 8, 58, 58), (1, 8, 8, 3, 3), "float32", (1, 1), "winograd"),     # 8 channels
    ((8, 1, 7, 58, 58), (1, 8, 7, 3, 3), "float32", (1, 1), "direct"),       # C_in < 8
    ((8, 1, 8, 58, 58), (1, 7, 8, 3, 3), "float32", (1, 1), "direct"),       # C_out < 8
    ((64, 1, 32, 16, 16), (1, 64, 32, 3, 3), "float32", (1, 1), "winograd"),  # mnist_2: 14
    ((64, 1, 16, 8, 8), (1, 16, 16, 3, 3), "float32", (1, 1), "winograd"),   # 6 columns
    ((64, 1, 16, 8, 7), (1, 16, 16, 3, 3), "float32", (1, 1), "direct"),     # 5 columns
    ((8, 1, 64, 36, 36), (1, 64, 64, 3, 3), "float32", (2, 2), "winograd"),  # dilated: 2 × 16
    ((8, 1, 64, 16, 16), (1, 64, 64, 3, 3), "float32", (2, 2), "winograd"),  # phases of 6
    ((8, 1, 64, 16, 15), (1, 64, 64, 3, 3), "float32", (2, 2), "direct"),    # phases of 5, 6
    ((8, 1, 64, 60, 60), (1, 64, 64, 5, 5), "float32", (1, 1), "rows"),      # 5×5: no gain
    ((16, 1, 64, 1028), (1, 64, 64, 5), "float32", (1,), "winograd"),         # conv1d
    ((16, 1, 64, 1028), (1, 64, 64, 5), "float64", (1,), "stacked"),
    ((16, 1, 16, 260), (1, 16, 16, 5), "float32", (1,), "winograd"),          # 16 ch, 256 col.
    ((16, 1, 16, 259), (1, 16, 16, 5), "float32", (1,), "direct"),            # 255
    ((16, 1, 15, 1028), (1, 64, 15, 5), "float32", (1,), "direct"),           # C_in < 16
    ((16, 1, 64, 1032), (1, 64, 64, 5), "float32", (2,), "winograd"),         # 2 × 512
    ((16, 1, 64, 1028), (1, 64, 64, 3), "float32", (1,), "stacked"),          # 1-d 3-tap
    ((8, 1, 64, 58, 58), (1, 64, 64, 1, 3), "float32", (1, 1), "stacked"),   # 1×3: unmeasured
]


# The method rule's boundaries (x_shape, w_shape, stride, want),
# also asserted of the plans (tests/engine/test_plan.py).
WINOGRAD_WEIGHT_BOUNDARIES = [
    # a weight gradient: x (C_in, G, N, *S), ∂L/∂y (G, C_out, N, *M) as the kernel, the
    # layer's dilation as the window step; its output is the 3×3 kernel
    ((64, 1, 8, 58, 58), (1, 64, 8, 56, 56), (1, 1), "winograd"),     # resnet_3x3's ∂w
    ((32, 1, 8, 8, 8), (1, 32, 8, 6, 6), (1, 1), "winograd"),         # 6 columns
    ((32, 1, 8, 7, 7), (1, 32, 8, 5, 5), (1, 1), "direct"),           # 5 columns
    ((8, 1, 8, 58, 58), (1, 8, 8, 56, 56), (1, 1), "winograd"),       # 8 channels
    ((7, 1, 8, 58, 58), (1, 64, 8, 56, 56), (1, 1), "direct"),        # C_in < 8
    ((64, 1, 8, 58, 58), (1, 7, 8, 56, 56), (1, 1), "direct"),        # C_out < 8
    ((64, 1, 8, 36, 36), (1, 64, 8, 32, 32), (2, 2), "winograd"),     # dilated: phases of 16
    ((64, 1, 8, 58, 58), (1, 64, 8, 54, 54), (1, 1), "outrows"),      # a 5×5 kernel
    ((64, 1, 16, 1028), (1, 64, 16, 1024), (1,), "winograd"),          # conv1d's ∂w
    ((8, 1, 16, 260), (1, 8, 16, 256), (1,), "winograd"),              # 256 columns, 8
    ((8, 1, 16, 259), (1, 8, 16, 255), (1,), "direct"),                # 255 columns
    ((7, 1, 16, 1028), (1, 64, 16, 1024), (1,), "direct"),             # C_in < 8
]

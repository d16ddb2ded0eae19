"""Training FLOPs per image: what archs.flops counts, checked against counts made by hand."""

from torch import nn

import archs
from archs.flops import count_flops, training_flops


def test_a_tiny_model_costs_what_its_products_cost_by_hand():
    # conv 1 -> 2 channels, 3x3, on 4x4: 2 x 2x2 outputs of 9 multiply-adds each = 72 MACs = 144 FLOPs;
    # dense 8 -> 3: 24 MACs = 48 FLOPs. Backward: the conv's weight gradient (144; its input needs none),
    # the dense layer's weight and input gradients (48 each). Biases, ReLU and the sum are not counted.
    model = nn.Sequential(nn.Conv2d(1, 2, kernel_size=3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    assert training_flops(model, in_channels=1, image_size=4) == (144 + 48) + (144 + 48 + 48)


def test_lenet5_costs_three_forward_passes_less_its_first_layers_input_gradient():
    # 28x28x1 -> conv 3x3 (6) 26x26 -> pool 13 -> conv 2x2 (16) 12x12 -> pool 6 -> dense 576 -> 256 -> 10.
    first = 6 * 26 * 26 * 9
    macs = first + 16 * 12 * 12 * (6 * 2 * 2) + 576 * 256 + 256 * 10
    counted = count_flops({"mnist": archs.InputShape(1, 10, 28)}, ["lenet5"])
    assert counted == {("lenet5", "mnist"): 2 * (3 * macs - first)}


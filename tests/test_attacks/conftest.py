# Copyright (c) mmamr contributors. All rights reserved.
import pytest
import torch
from attack_testing import build_recognizer, make_inputs


@pytest.fixture(scope='module')
def recognizer():
    return build_recognizer()


@pytest.fixture
def inputs():
    return make_inputs()


@pytest.fixture
def labels():
    return torch.tensor([0, 1, 2, 3])

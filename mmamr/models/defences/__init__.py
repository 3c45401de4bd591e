# Copyright (c) mmamr contributors. All rights reserved.
from .exfmem import ExFMem
from .ista import ista, lipschitz_constant

__all__ = ['ExFMem', 'ista', 'lipschitz_constant']

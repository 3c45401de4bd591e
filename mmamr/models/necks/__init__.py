# Copyright (c) mmamr contributors. All rights reserved.
from .amr import AMR

__all__ = ['AMR']

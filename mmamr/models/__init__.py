# Copyright (c) mmamr contributors. All rights reserved.
from .backbones import *  # noqa: F401,F403
from .defences import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .recognizers import *  # noqa: F401,F403

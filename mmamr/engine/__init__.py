# Copyright (c) mmamr contributors. All rights reserved.

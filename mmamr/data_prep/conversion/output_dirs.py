# Copyright (c) mmamr contributors. All rights reserved.
"""The output folders of a conversion."""
from pathlib import Path

from mmamr.common.atomic_io import PathLike, remove_temporaries


def prepare_output_dirs(out_file: PathLike, *folders: PathLike) -> None:
    """Create the folders of a conversion's outputs and delete the
    temporaries a killed run left there (of ``out_file``'s name only, in
    its folder, which may hold other files)."""
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    remove_temporaries(out_file.parent, out_file.stem)
    for folder in folders:
        if folder is not None:
            Path(folder).mkdir(parents=True, exist_ok=True)
            remove_temporaries(folder)

# Copyright (c) mmamr contributors. All rights reserved.
"""Install mmamr, an MMAction2 plugin for adversarially robust RGB-skeleton
action recognition.

`mmcv` is deliberately not in ``install_requires``: it comes either as
`mmcv-lite` (extra ``lite``, pure Python) or as the full `mmcv` with
compiled ops (extra ``pose``); both install the same module, so naming one
here would force it beside the other. The ``pose`` extra also needs mmdet
and mmpose installed without their declared dependencies
(``requirements/pose_no_deps.txt``) and mmcv built from source:
``source tools/setup_env.sh pose`` does all of it.
"""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(name):
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


def read_version():
    scope = {}
    with open(osp.join('mmamr', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmamr',
    version=read_version(),
    description='Adversarially robust RGB-skeleton action recognition '
    '(Attention-based Modality Reweighter) for MMAction2',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.8',
    install_requires=read_requirements('runtime.txt'),
    extras_require=dict(
        lite=read_requirements('mmcv_lite.txt'),
        pose=read_requirements('pose.txt'),
        tests=read_requirements('tests.txt'),
    ),
    license='Apache License 2.0',
    zip_safe=False)

# Copyright (c) mmamr contributors. All rights reserved.
"""One-shot GPU check: what a GPU does with the NTU configs, in one run.

A benchmark, not a test: one command, a few minutes on one GPU (at most
8), fixed seed, on the input sizes of ``configs/amr_i3d_hcn_ntu.py``
(per GPU: batch 2, RGB 32 x 224 x 224, skeleton 2 bodies x 25 joints x 32
frames; I3D + HCN with 3 AMRs). It reports, as one table and a JSON file:

- forward/backward (train mode, standard loss, parameter gradients) in
  fp32 and under autocast (fp16 on CUDA, bf16 on a CPU);
- one training iteration (``model.train_step``: preprocessor, loss,
  backward, SGD step), standard and AMR (the config's PGD-10 objective),
  in fp32 and under AMP (``AmpOptimWrapper`` on CUDA, as ``--amp``);
- the targets, measured side by side (the jobs take turns, round by
  round): PGD step / training step (<= 0.75), PGD-10 AMR iteration /
  standard iteration (<= 9), ✗S PGD-20 branch-cached / naive (<= 0.25);
- that an attack called under autocast computes in fp32 (D8): every
  layer's output dtype during it, and how many adversarial values differ
  from an fp32 call's beside how many differ between two fp32 calls;
- peak GPU memory of each job (``max_memory_allocated``);
- FLOPs per clip of a forward and of each training iteration
  (``torch.utils.flop_counter``), and from them and the measured speed
  an estimate of the full NTU AMR run on 8 GPUs;
- data loading: the config's train pipeline and workers on videos made
  by the NTU converter (short side 256: 456 x 256) from the real sample
  in ``tests/data/ntu``, in clips/s, against what one GPU consumes.

``--tiny`` runs the same on the CPU-sized synthetic config (StagedC3D,
8 RGB frames of 32 x 32) with one round, so that a CPU test shows
the script works before any GPU is at hand.

Example::

    python benchmarks/gpu_check.py --json work_dirs/gpu_check.json
    python benchmarks/gpu_check.py --tiny --device cpu   # seconds
"""
import argparse
import copy
import os
import os.path as osp
import pickle
import shutil
import tempfile
import time
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional

import torch
from harness import (add_common_args, command, machine, machine_line, report,
                     time_interleaved)
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

import mmamr  # noqa: F401  (registers the plugin, applies compat)
from mmamr.attacks import PGD
from mmamr.common import gt_labels
from mmamr.data_prep.ntu_converter import convert_ntu
from mmamr.models import AdversarialTraining
from mmamr.utils import init_weights_quietly

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
NTU_CONFIG = osp.join(ROOT, 'configs', 'amr_i3d_hcn_ntu.py')
TINY_CONFIG = osp.join(ROOT, 'configs', 'amr_c3d_hcn_synthetic.py')
SAMPLE = 'S001C001P001R001A001'  # the real NTU sample (X-Sub train)
SAMPLE_DIR = osp.join(ROOT, 'tests', 'data', 'ntu')
NTU_XSUB_TRAIN_CLIPS = 40091
GPUS = 8
MAX_WALL_S = 480
TARGETS = dict(
    pgd_step_over_train_step=0.75,
    amr_over_standard=9.0,
    cached_over_naive=0.25,
    loading_over_consumption=1.0)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='One-shot GPU check on the NTU configs\' sizes')
    parser.add_argument(
        '--config',
        default=None,
        help='config with model.amr.input_shapes and an adversarial '
        'model.train_cfg (default: configs/amr_i3d_hcn_ntu.py, or the '
        'synthetic AMR config with --tiny)')
    parser.add_argument(
        '--tiny',
        action='store_true',
        help='CPU-sized model and clips, one round, tiny data check')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--batch',
        type=int,
        default=None,
        help="clips per GPU (default: the config's train batch size)")
    parser.add_argument(
        '--rounds',
        type=int,
        default=None,
        help='timed runs of each job, interleaved (default 5; 1 tiny)')
    parser.add_argument(
        '--step-steps',
        type=int,
        default=5,
        help='PGD steps of the ✗RS run that measures one step')
    parser.add_argument(
        '--data-clips',
        type=int,
        default=None,
        help='clips loaded by the data check (default 40; 2 tiny)')
    parser.add_argument(
        '--workers',
        type=int,
        default=None,
        help="data loading workers (default: the config's; 0 tiny)")
    add_common_args(parser)
    args = parser.parse_args(argv)
    tiny = args.tiny
    if args.config is None:
        args.config = TINY_CONFIG if tiny else NTU_CONFIG
    if args.rounds is None:
        args.rounds = 1 if tiny else 5
    if args.data_clips is None:
        args.data_clips = 2 if tiny else 40
    # The converter's default short side, as in docs/data_preparation.md;
    # 64 keeps the tiny check's re-encoding short.
    args.short_side = 64 if tiny else 256
    if args.rounds < 1 or args.warmup < 0 or args.step_steps < 1:
        raise ValueError('--rounds and --step-steps must be >= 1, '
                         '--warmup >= 0')
    return args


def build(cfg: Config, device: str, seed: int) -> torch.nn.Module:
    """The config's model, initialised as training starts, on ``device``."""
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    set_random_seed(seed)
    model = MODELS.build(cfg.model)
    init_weights_quietly(model)
    return model.to(device).train()


def make_batch(cfg: Config, batch: int, num_classes: int, seed: int) -> dict:
    """A batch as the dataloader gives it: RGB uint8 clips and skeleton
    float clips of the config's AMR input shapes."""
    shapes = cfg.model.amr.input_shapes
    gen = torch.Generator().manual_seed(seed)
    return dict(
        inputs=dict(
            rgb=[
                torch.randint(0, 256, (1, *shapes['rgb']),
                              generator=gen).to(torch.uint8)
                for _ in range(batch)
            ],
            skeleton=[
                torch.rand(1, *shapes['skeleton'], generator=gen)
                for _ in range(batch)
            ]),
        data_samples=[
            ActionDataSample().set_gt_label(i % num_classes)
            for i in range(batch)
        ])


class FlopCount(TorchDispatchMode):
    """FLOPs of the convolutions and matrix products run inside (torch's
    own formulas, ``torch.utils.flop_counter``: a multiply-add is 2).

    ``FlopCounterMode`` itself also tracks modules with backward hooks,
    which refuse ``torch.autograd.grad`` with respect to leaf inputs, the
    call every attack makes; this counter tracks nothing else.
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def amp_dtype(device: str) -> torch.dtype:
    """What ``--amp`` computes in: fp16 on CUDA, bf16 on a CPU."""
    return torch.float16 if device.startswith('cuda') else torch.bfloat16


def device_type(device: str) -> str:
    return torch.device(device).type


class Check:
    """The model, its batch, optimizers and objectives, and the jobs."""

    def __init__(self, cfg: Config, args: argparse.Namespace) -> None:
        self.cfg, self.args, self.device = cfg, args, args.device
        self.model = build(cfg, args.device, args.seed)
        # The NTU configs' 2 clips per GPU; --tiny too (the synthetic
        # config trains 16 on one CPU).
        self.batch_size = args.batch or (
            2 if args.tiny else cfg.train_dataloader.get('batch_size', 2))
        self.batch = make_batch(cfg, self.batch_size,
                                self.model.cls_head.num_classes, args.seed)
        data = self.model.data_preprocessor(self.batch, training=True)
        self.inputs, self.samples = data['inputs'], data['data_samples']
        self.labels = gt_labels(self.samples, torch.device(args.device))
        self.amr = self.model.adversarial_training
        if self.amr is None or self.amr.mode != 'amr':
            raise ValueError(f'{args.config}: model.train_cfg must set the '
                             "AMR objective (mode='amr') with its attack.")
        self.standard = AdversarialTraining('standard')
        self.wrapper = build_optim_wrapper(self.model, cfg.optim_wrapper)
        self.cuda = args.device.startswith('cuda')
        # On a CPU mmengine has no AmpOptimWrapper: autocast around the
        # fp32 wrapper's step stands in for it.
        self.amp_wrapper = build_optim_wrapper(
            self.model,
            dict(
                cfg.optim_wrapper,
                type='AmpOptimWrapper',
                loss_scale='dynamic')) if self.cuda else self.wrapper
        attack = cfg.model.train_cfg.attack
        self.eps, self.alpha = dict(attack.eps), dict(attack.alpha)

    def autocast(self):
        """The AMP context the CPU stand-in runs in (CUDA: the wrapper's)."""
        if self.cuda:
            return nullcontext()
        return torch.autocast('cpu', dtype=torch.bfloat16)

    def fwd_bwd(self, amp: bool) -> Callable[[], None]:
        """Train-mode standard loss and backward, no optimizer step."""

        def run():
            self.model.train()
            self.model.set_adversarial_training(None)
            context = torch.autocast(
                device_type(self.device), dtype=amp_dtype(
                    self.device)) if amp else nullcontext()
            with context:
                losses = self.model.loss(self.inputs, self.samples)
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            self.model.zero_grad(set_to_none=True)

        return run

    def iteration(self, objective, amp: bool) -> Callable[[], None]:
        """``model.train_step`` under ``objective``, fp32 or AMP."""

        def run():
            self.model.train()
            self.model.set_adversarial_training(objective)
            with self.autocast() if amp else nullcontext():
                self.model.train_step(
                    self.batch, self.amp_wrapper if amp else self.wrapper)

        return run

    def pgd(self,
            targets: str,
            steps: int,
            fast_path: bool = True) -> Callable[[], None]:
        attack = PGD(
            eps=self.eps,
            alpha=self.alpha,
            steps=steps,
            random_start=False,
            targets=targets,
            fast_path=fast_path)
        return lambda: attack(self.model, self.inputs, self.labels)

    def jobs(self) -> Dict[str, Callable[[], None]]:
        steps = self.args.step_steps
        return dict(
            fwd_bwd_fp32=self.fwd_bwd(amp=False),
            fwd_bwd_amp=self.fwd_bwd(amp=True),
            standard_iter=self.iteration(None, amp=False),
            amr_iter=self.iteration(self.amr, amp=False),
            amr_iter_amp=self.iteration(self.amr, amp=True),
            pgd_both_steps=self.pgd('both', steps),
            pgd20_skeleton_cached=self.pgd('skeleton', 20, fast_path=True),
            pgd20_skeleton_naive=self.pgd('skeleton', 20, fast_path=False))

    def attack_under_amp(self) -> Dict[str, object]:
        """What an attack called under autocast computes in (D8).

        ``dtypes``: the dtypes of every layer's output during the attack
        under autocast (D8 holds when it is only float32). Also the
        fraction of adversarial values that differ between that attack and
        one in fp32, beside the fraction that differs between two fp32
        calls: on a GPU the kernels' own nondeterminism (atomics in the
        backward, ``cudnn.benchmark``) makes the latter non-zero, so the
        fractions only show that autocast adds nothing to it.
        """
        attack = self.pgd('both', 2)
        self.model.train()
        dtypes = set()

        def record(module, args, output):
            if torch.is_tensor(output) and output.is_floating_point():
                dtypes.add(str(output.dtype).replace('torch.', ''))

        runs = []
        for amp in (False, False, True):
            context = torch.autocast(
                device_type(self.device), dtype=amp_dtype(
                    self.device)) if amp else nullcontext()
            hooks = [
                m.register_forward_hook(record) for m in self.model.modules()
                if amp and next(m.parameters(recurse=False), None) is not None
            ]
            with context:
                # The PGD's closure returns the adversarial inputs.
                runs.append(attack())
            for hook in hooks:
                hook.remove()

        def differing(a, b):
            return max(
                float(((a[m] - b[m]).abs() > 1e-6).float().mean()) for m in a)

        return dict(
            dtypes=sorted(dtypes),
            fp32_repeat=differing(runs[0], runs[1]),
            amp_vs_fp32=differing(runs[2], runs[0]))

    def flops(self) -> Dict[str, float]:
        """FLOPs (multiply-add = 2) per clip, counted by torch."""

        def count(job) -> float:
            with FlopCount() as counter:
                job()
            return counter.total / self.batch_size

        def forward():
            self.model.eval()
            with torch.no_grad():
                self.model(self.inputs)
            self.model.train()

        return dict(
            forward=count(forward),
            standard_iter=count(self.iteration(None, amp=False)),
            amr_iter=count(self.iteration(self.amr, amp=False)))

    def measure(self) -> Dict[str, Dict]:
        """Every job, interleaved; on CUDA each one's peak memory."""
        peaks: Dict[str, Dict[str, float]] = dict()

        def before(name: str) -> None:
            if self.cuda:
                torch.cuda.reset_peak_memory_stats()

        def after(name: str) -> None:
            if self.cuda:
                peak = peaks.setdefault(name, dict(allocated=0, reserved=0))
                peak['allocated'] = max(peak['allocated'],
                                        torch.cuda.max_memory_allocated())
                peak['reserved'] = max(peak['reserved'],
                                       torch.cuda.max_memory_reserved())

        times = time_interleaved(self.jobs(), self.args.warmup,
                                 self.args.rounds, before, after)
        for name, peak in peaks.items():
            times[name]['peak_allocated_mib'] = peak['allocated'] / 2**20
            times[name]['peak_reserved_mib'] = peak['reserved'] / 2**20
        return times


def converted_sample_data(work: str, clips: int, short_side: int) -> tuple:
    """``clips`` training clips made by the NTU converter from the real
    sample (re-encoded once, shared by all); ``(ann_file, video_dir)``."""
    skeletons, videos = osp.join(work, 'skeletons'), osp.join(work, 'raw')
    os.makedirs(skeletons)
    os.makedirs(videos)
    os.symlink(
        osp.join(SAMPLE_DIR, f'{SAMPLE}.skeleton'),
        osp.join(skeletons, f'{SAMPLE}.skeleton'))
    os.symlink(
        osp.join(SAMPLE_DIR, f'{SAMPLE}_rgb.avi'),
        osp.join(videos, f'{SAMPLE}_rgb.avi'))
    one = osp.join(work, 'one.pkl')
    out_videos = osp.join(work, 'videos')
    convert_ntu(
        skeletons,
        one,
        video_dir=videos,
        out_video_dir=out_videos,
        short_side=short_side)
    with open(one, 'rb') as f:
        ann = pickle.load(f)['annotations'][0]
    annotations = []
    for r in range(clips):
        name = f'S001C001P001R{r + 1:03d}A001'
        if name != SAMPLE:
            os.symlink(ann['video'], osp.join(out_videos, f'{name}_rgb.mp4'))
        annotations.append(dict(ann, frame_dir=name, video=f'{name}_rgb.mp4'))
    names = [a['frame_dir'] for a in annotations]
    ann_file = osp.join(work, 'ntu_sample.pkl')
    with open(ann_file, 'wb') as f:
        pickle.dump(
            dict(
                split=dict(
                    xsub_train=names,
                    xsub_val=[],
                    xview_train=[],
                    xview_val=names),
                annotations=annotations), f)
    return ann_file, out_videos, tuple(ann['img_shape'])


def data_loading(cfg: Config, args: argparse.Namespace) -> Dict[str, object]:
    """Clips/s of the config's train dataloader on converted videos."""
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    work = tempfile.mkdtemp(prefix='mmamr_gpu_check_')
    try:
        start = time.perf_counter()
        ann_file, video_dir, shape = converted_sample_data(
            work, args.data_clips, args.short_side)
        convert_s = time.perf_counter() - start
        loader_cfg = copy.deepcopy(cfg.train_dataloader)
        loader_cfg.dataset.ann_file = ann_file
        loader_cfg.dataset.data_prefix = dict(video=video_dir)
        loader_cfg.dataset.split = 'xsub_train'
        workers = (0 if args.tiny else loader_cfg.get(
            'num_workers', 0)) if args.workers is None else args.workers
        loader_cfg.num_workers = workers
        loader_cfg.persistent_workers = (
            workers > 0 and loader_cfg.get('persistent_workers', False))
        if args.batch is not None:
            loader_cfg.batch_size = args.batch
        loader = Runner.build_dataloader(loader_cfg, seed=args.seed)
        iterator = iter(loader)
        first = next(iterator)  # workers started, first batch decoded
        batch = len(first['data_samples'])
        start, clips = time.perf_counter(), 0
        for data in iterator:
            clips += len(data['data_samples'])
        elapsed = time.perf_counter() - start
        if clips == 0:  # one batch in all: time it alone
            start = time.perf_counter()
            clips = len(next(iter(loader))['data_samples'])
            elapsed = time.perf_counter() - start
        return dict(
            video_shape=list(shape),
            workers=workers,
            batch=batch,
            clips_timed=clips,
            clips_per_s=clips / elapsed,
            convert_s=convert_s)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def estimate(flops: Dict[str, float], times: Dict[str, Dict], batch: int,
             epochs: int) -> Dict[str, float]:
    """The full NTU AMR run on ``GPUS`` GPUs: an estimate from the
    counted FLOPs and this GPU's measured speed (linear scaling, no data
    stall, no validation), to be replaced by a measurement."""
    clip_passes = NTU_XSUB_TRAIN_CLIPS * epochs
    per_gpu = batch / times['amr_iter']['median_s']
    return dict(
        clips_per_epoch=NTU_XSUB_TRAIN_CLIPS,
        epochs=epochs,
        total_pflop=flops['amr_iter'] * clip_passes / 1e15,
        amr_iters_per_gpu=clip_passes / (GPUS * batch),
        hours_on_8_gpus=clip_passes / (GPUS * per_gpu) / 3600,
        achieved_tflops_per_gpu=flops['amr_iter'] * per_gpu / 1e12)


def ratios(times: Dict[str, Dict], step_steps: int) -> Dict[str, float]:
    t = {name: v['median_s'] for name, v in times.items()}
    return dict(
        pgd_step_over_train_step=t['pgd_both_steps'] / step_steps /
        t['fwd_bwd_fp32'],
        amr_over_standard=t['amr_iter'] / t['standard_iter'],
        cached_over_naive=t['pgd20_skeleton_cached'] /
        t['pgd20_skeleton_naive'],
        amp_speedup_fwd_bwd=t['fwd_bwd_fp32'] / t['fwd_bwd_amp'],
        amp_speedup_amr_iter=t['amr_iter'] / t['amr_iter_amp'])


def verdict(value: float, target: float, at_most: bool = True) -> str:
    met = value <= target if at_most else value >= target
    return 'met' if met else 'MISSED'


def format_report(res: dict) -> str:
    t, r, d = res['times'], res['ratios'], res['data']
    a, amp = res['attack_under_amp'], res['amp_dtype']
    mib = {name: v.get('peak_allocated_mib') for name, v in t.items()}

    def ms(name):
        return f"{1e3 * t[name]['median_s']:.1f} ms"

    def mem(name):
        return '-' if mib[name] is None else f'{mib[name]:.0f} MiB'

    rows = [
        ('forward/backward, fp32', ms('fwd_bwd_fp32'), '', '',
         mem('fwd_bwd_fp32')),
        (f'forward/backward, autocast {amp}', ms('fwd_bwd_amp'),
         f"{r['amp_speedup_fwd_bwd']:.2f}x faster", '', mem('fwd_bwd_amp')),
        ('standard training iteration, fp32', ms('standard_iter'), '', '',
         mem('standard_iter')),
        (f"AMR training iteration (PGD-{res['pgd_steps']}), fp32",
         ms('amr_iter'), '', '', mem('amr_iter')),
        (f'AMR training iteration, AMP ({amp})', ms('amr_iter_amp'),
         f"{r['amp_speedup_amr_iter']:.2f}x faster", '', mem('amr_iter_amp')),
        ('PGD step / training step (✗RS)',
         f"{r['pgd_step_over_train_step']:.3f}",
         f"<= {TARGETS['pgd_step_over_train_step']}",
         verdict(r['pgd_step_over_train_step'],
                 TARGETS['pgd_step_over_train_step']), mem('pgd_both_steps')),
        (f"PGD-{res['pgd_steps']} AMR iteration / standard iteration",
         f"{r['amr_over_standard']:.2f}", f"<= {TARGETS['amr_over_standard']}",
         verdict(r['amr_over_standard'], TARGETS['amr_over_standard']), ''),
        ('✗S PGD-20 branch-cached / naive', f"{r['cached_over_naive']:.3f}",
         f"<= {TARGETS['cached_over_naive']}",
         verdict(r['cached_over_naive'],
                 TARGETS['cached_over_naive']), mem('pgd20_skeleton_naive')),
        ('attack under autocast: layers compute in', ', '.join(a['dtypes']),
         'float32 (values differing from fp32 '
         f"{a['amp_vs_fp32']:.2e}; fp32 twice {a['fp32_repeat']:.2e})",
         'met' if a['dtypes'] == ['float32'] else 'MISSED', ''),
        ('data loading, {}x{} videos, {} workers'.format(
            d['video_shape'][1], d['video_shape'][0],
            d['workers']), f"{d['clips_per_s']:.1f} clips/s",
         f"AMR consumes {d['amr_consumes_clips_per_s']:.1f}, standard "
         f"{d['standard_consumes_clips_per_s']:.1f}",
         verdict(
             d['loading_over_amr'],
             TARGETS['loading_over_consumption'],
             at_most=False), ''),
    ]
    f, e = res['flops_per_clip'], res['estimate']
    lines = [
        f"Config: {res['config']}, batch {res['batch']} per GPU, device "
        f"{res['device']}, {res['rounds']} interleaved rounds, seed "
        f"{res['seed']}, cudnn.benchmark {res['cudnn_benchmark']}.",
        machine_line(res['machine']), '',
        '| check | measured | target / reference | verdict | peak memory |',
        '|---|---:|---|---|---:|'
    ] + ['| ' + ' | '.join(row) + ' |' for row in rows] + [
        '', 'FLOPs per clip (torch.utils.flop_counter): forward {:.1f} G, '
        'standard iteration {:.1f} G, AMR iteration {:.1f} G ({:.1f} '
        'forwards).'.format(f['forward'] / 1e9, f['standard_iter'] / 1e9,
                            f['amr_iter'] / 1e9, f['amr_iter'] / f['forward']),
        'ESTIMATE (to be replaced by a measurement): the full NTU AMR run, '
        '{} clips x {} epochs = {:.0f} PFLOP, on {} GPUs like this one: '
        '{:.1f} h ({:.1f} TFLOP/s achieved per GPU; linear scaling, no '
        'data stall, no validation).'.format(
            e['clips_per_epoch'], e['epochs'], e['total_pflop'], GPUS,
            e['hours_on_8_gpus'], e['achieved_tflops_per_gpu']),
        f"Wall time {res['wall_s']:.0f} s (limit {MAX_WALL_S} s)."
    ]
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the check; print and return the results (see module doc)."""
    args = parse_args(argv)
    start = time.perf_counter()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.device.startswith('cuda'):
        # As the real-data configs' env_cfg (fixed shapes).
        torch.backends.cudnn.benchmark = True
    machine_before = machine()
    cfg = Config.fromfile(args.config)
    check = Check(cfg, args)
    times = check.measure()
    res = dict(
        config=osp.relpath(osp.abspath(args.config), ROOT),
        device=args.device,
        batch=check.batch_size,
        rounds=args.rounds,
        warmup=args.warmup,
        seed=args.seed,
        pgd_steps=check.amr.attack.steps,
        amp_dtype=str(amp_dtype(args.device)).replace('torch.', ''),
        cudnn_benchmark=torch.backends.cudnn.benchmark,
        command=command('gpu_check.py', argv),
        machine=machine_before,
        times=times,
        ratios=ratios(times, args.step_steps),
        attack_under_amp=check.attack_under_amp(),
        flops_per_clip=check.flops())
    res['estimate'] = estimate(res['flops_per_clip'], times, check.batch_size,
                               cfg.train_cfg.max_epochs)
    del check
    data = data_loading(cfg, args)
    data['amr_consumes_clips_per_s'] = (
        res['batch'] / times['amr_iter']['median_s'])
    data['standard_consumes_clips_per_s'] = (
        res['batch'] / times['standard_iter']['median_s'])
    data['loading_over_amr'] = (
        data['clips_per_s'] / data['amr_consumes_clips_per_s'])
    data['loading_over_standard'] = (
        data['clips_per_s'] / data['standard_consumes_clips_per_s'])
    res['data'] = data
    if args.device.startswith('cuda'):
        res['peak_allocated_mib'] = max(
            v.get('peak_allocated_mib', 0) for v in times.values())
    res['wall_s'] = time.perf_counter() - start
    return report(res, format_report(res), args.json)


if __name__ == '__main__':
    main()

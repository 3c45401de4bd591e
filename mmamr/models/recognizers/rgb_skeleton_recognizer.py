# Copyright (c) mmamr contributors. All rights reserved.
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from mmaction.registry import MODELS
from mmaction.utils import ConfigType, OptConfigType, SampleList
from mmengine.logging import print_log
from mmengine.model import BaseModel, ModuleDict
from torch import nn

from mmamr.common import AUX_LOGITS, MODALITIES
from ..backbones.coupled_staged_backbone import CoupledStagedBackbone
from ..backbones.staged_backbone import StagedBackbone, StageShape
from .adversarial_training import STANDARD_TRAINING, training_objective

# Dimensions of one clip, without batch and view axes: RGB [C, T, H, W],
# skeleton [M, T, V, C].
_CLIP_DIMS = dict(rgb=4, skeleton=4)


class _Branch:
    """One independent branch seen through the stage interface of a
    :class:`CoupledStagedBackbone` (dicts of one modality in and out), so
    that the recognizer runs both kinds of backbone the same way."""

    couples_modalities = False

    def __init__(self, modality: str, backbone: StagedBackbone) -> None:
        self.modality = modality
        self.backbone = backbone
        self.modalities = (modality, )
        self.name = type(backbone).__name__
        self.num_stages = backbone.num_stages
        self.feat_dims = {modality: backbone.feat_dim}

    def forward_stem(self, inputs: Dict) -> Dict:
        return {
            self.modality: self.backbone.forward_stem(inputs[self.modality])
        }

    def forward_stage(self, index: int, maps: Dict) -> Dict:
        return {
            self.modality: self.backbone.forward_stage(index,
                                                       maps[self.modality])
        }

    def forward_head(self, maps: Dict) -> Dict:
        return {self.modality: self.backbone.forward_head(maps[self.modality])}

    def stage_pools(self) -> Dict[str, Callable]:
        return {self.modality: self.backbone.pool_stage}

    def check_stage_count(self, requested: int, owner: str = '') -> None:
        self.backbone.check_stage_count(requested, owner)

    def stage_shapes(self, clips: Dict, where: str) -> Dict:
        return {
            self.modality: self.backbone.stage_shapes(clips[self.modality],
                                                      where)
        }


def _branch_label(modalities: Sequence[str]) -> str:
    """``'rgb branch'``; ``'rgb and skeleton branches'`` (coupled)."""
    if len(modalities) == 1:
        return f'{modalities[0]} branch'
    return f'{" and ".join(modalities)} branches'


@MODELS.register_module()
class RGBSkeletonRecognizer(BaseModel):
    """Two-stream RGB + skeleton recognizer with late fusion.

    Each branch is a :class:`StagedBackbone`; the branches run stage by
    stage so that modules registered with :meth:`add_between_stages` (AMR)
    can act on both branches' hidden maps at the same depth. The pooled
    features of the branches are concatenated (RGB first) and classified
    by ``cls_head`` (:class:`FusionHead` by default). Either branch may be
    omitted for the unimodal baselines.

    A two-stream model whose pathways exchange features between stages
    (lateral connections, e.g. mmaction2's RGBPoseConv3D) is given as one
    ``backbone``, a :class:`CoupledStagedBackbone`, instead of the two
    branch backbones. It runs stage by stage in the same way, AMR included;
    its branches interact (:attr:`branches_interact`), so single-modality
    attacks run the whole model at every step.

    With ``amr``, ``S`` :class:`AMR` modules sit after the ``S`` deepest
    stages of both branches (AMR 1 after the last stage, AMR 2 one stage
    earlier, ...; paper §4.2). They act on every input, in training and at
    test time (DESIGN.md D3); their auxiliary predictions only enter the
    training loss.

    The training loss is the objective of ``train_cfg``: standard by
    default, or Madry adversarial training, or AMR's Eq. 12 (see
    :class:`AdversarialTraining`). The model builds it itself, so it
    trains the same under any train loop. The paper's AMR training::

        model = dict(
            type='RGBSkeletonRecognizer', ...,
            amr=dict(num_modules=3, ...),
            train_cfg=dict(
                mode='amr', lam=1.,
                attack=dict(type='PGD', eps=dict(rgb=8/255, skeleton=8/255),
                            alpha=dict(rgb=2/255, skeleton=2/255),
                            steps=10, random_start=True, targets='both')))

    Inputs arrive *un-normalised*: RGB in [0, 1] (the data preprocessor
    divides by 255) and the skeleton in the units of the skeleton pipeline
    (about [0, 1] per axis, see ``NormalizeSkeleton``). The mean/std
    normalisation of both happens here, differentiably, so that an attack
    perturbs raw inputs and its ε means grey levels for RGB and the same
    fraction of the coordinate range for the skeleton (DESIGN.md D5).

    Args:
        cls_head (dict): Head config. ``in_channels`` is inferred from the
            backbones when omitted.
        rgb_backbone (dict, optional): RGB branch config, e.g.
            ``dict(type='InceptionI3D')``. Takes ``[N, 3, T, H, W]``.
        skeleton_backbone (dict, optional): Skeleton branch config, e.g.
            ``dict(type='HCN')``. Takes ``[N, M, T, V, C]``.
        backbone (dict, optional): Instead of the two above, one
            :class:`CoupledStagedBackbone` over the modalities, e.g.
            ``dict(type='StagedRGBPoseConv3D')`` (its ``skeleton`` input
            is a pose heatmap volume ``[N, K, T, H, W]``).
        rgb_mean (sequence[float]): Per-channel mean in [0, 1] units.
            Defaults to ImageNet's.
        rgb_std (sequence[float]): Per-channel std in [0, 1] units.
        skeleton_mean (sequence[float]): Per-coordinate mean subtracted
            from the skeleton. Defaults to 0.5 for (x, y, z).
        skeleton_std (sequence[float]): Per-coordinate std. The default
            1/3 undoes ``NormalizeSkeleton(low=-1.5, high=1.5)``, so the
            backbone sees centred metres, the scale HCN was designed for,
            while attacks work in the [0, 1] units.
        amr (dict, optional): AMR modules, e.g. ``dict(num_modules=3,
            init='ones', input_shapes=dict(rgb=(3, 32, 224, 224),
            skeleton=(2, 32, 25, 3)))``:

            - ``num_modules`` (int): ``S``, 0 to the smaller stage count
              of the branches (0: no AMR, the plain model).
            - ``input_shapes`` (dict): One clip per modality without the
              batch axis, RGB ``(3, T, H, W)``, skeleton ``(M, T, V, C)``:
              the size the pipeline produces. The AMR weights are sized
              from it by one forward pass at construction (DESIGN.md D2),
              so the optimizer sees them. Required when ``S > 0``.
            - ``type`` (str): Defaults to ``'AMR'``. Every other key
              (``init``, ...) is passed to it.
        minsim (dict, optional): The MinSim loss of Tian & Xu on the two
            branch features, added to every training pass's loss (see
            :class:`AdversarialTraining`), e.g. ``dict(loss_weight=1.)``;
            ``type`` defaults to ``'MinSimLoss'``. Needs both branches.
        feature_defence (dict, optional): A module between the branch
            features and the fusion, mapping ``dict(modality -> [N * V,
            D_m])`` to the same, e.g. ``dict(type='ExFMem',
            num_atoms=1024)``. It is given ``feat_dims`` (the branches'
            widths) and acts on every forward (attacks go through it).
        data_preprocessor (dict, optional): Defaults to a
            ``MultiModalDataPreprocessor`` that stacks the batch, casts to
            float and scales RGB to [0, 1].
        train_cfg (dict, optional): The training objective: ``mode``
            (``'standard'``, ``'madry'`` or ``'amr'``; defaults to
            ``'amr'``), ``attack`` (an ``mmamr.ATTACKS`` config, required
            by ``'madry'`` and ``'amr'``) and ``lam`` (λ of Eq. 12,
            ``'amr'`` only; defaults to 1), as in the example above. None
            or empty: standard training. Logged once, at the first
            training forward.
        test_cfg (dict, optional): Kept for mmaction2 parity.
        init_cfg (dict, optional): Weight init config.
    """

    def __init__(self,
                 cls_head: ConfigType,
                 rgb_backbone: OptConfigType = None,
                 skeleton_backbone: OptConfigType = None,
                 backbone: OptConfigType = None,
                 rgb_mean: Sequence[float] = (0.485, 0.456, 0.406),
                 rgb_std: Sequence[float] = (0.229, 0.224, 0.225),
                 skeleton_mean: Sequence[float] = (0.5, 0.5, 0.5),
                 skeleton_std: Sequence[float] = (1 / 3, 1 / 3, 1 / 3),
                 amr: OptConfigType = None,
                 minsim: OptConfigType = None,
                 feature_defence: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        configs = dict(rgb=rgb_backbone, skeleton=skeleton_backbone)
        coupled = None
        if backbone is not None:
            coupled = self._build_coupled(backbone, configs)
            consumed = set(coupled.modalities)
        else:
            consumed = {m for m, cfg in configs.items() if cfg is not None}
        if data_preprocessor is None:
            data_preprocessor = self.default_data_preprocessor(
                rgb='rgb' in consumed, skeleton='skeleton' in consumed)
        if isinstance(data_preprocessor, dict):
            # Built here: mmengine's BaseModel would look in its own
            # registry, which lacks mmaction's preprocessors.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # mmengine's ModuleDict, so that init_weights reaches the backbones.
        self.branches = ModuleDict()
        for modality, cfg in configs.items():
            if cfg is None:
                continue
            backbone = MODELS.build(cfg)
            if not isinstance(backbone, StagedBackbone):
                raise TypeError(
                    f'{modality}_backbone {type(backbone).__name__} must '
                    'implement mmamr StagedBackbone; wrap mmaction2 ResNet3d '
                    'backbones in StagedResNet3d.')
            self.branches[modality] = backbone
        # A CoupledStagedBackbone over several modalities, or None.
        self.backbone = coupled
        if not self.branches and self.backbone is None:
            raise ValueError('RGBSkeletonRecognizer needs at least one of '
                             'rgb_backbone and skeleton_backbone (or a '
                             'coupled backbone).')
        feat_dims = {
            m: dim
            for unit in self._units
            for m, dim in unit.feat_dims.items()
        }
        head_cfg = dict(cls_head)
        in_channels = head_cfg.setdefault('in_channels',
                                          sum(feat_dims.values()))
        if in_channels != sum(feat_dims.values()):
            raise ValueError(
                f'cls_head.in_channels={in_channels}, but the branch '
                f'features {feat_dims} add up to {sum(feat_dims.values())}.')
        self.cls_head = MODELS.build(head_cfg)
        self.register_buffer('rgb_mean',
                             torch.tensor(rgb_mean).view(-1, 1, 1, 1), False)
        self.register_buffer('rgb_std',
                             torch.tensor(rgb_std).view(-1, 1, 1, 1), False)
        # Skeleton coordinates are the last axis of [N, M, T, V, C].
        self.register_buffer('skeleton_mean', torch.tensor(skeleton_mean),
                             False)
        self.register_buffer('skeleton_std', torch.tensor(skeleton_std), False)
        # depth (1 = after the deepest stage) -> module mapping the dict of
        # both branches' hidden maps to a new dict; filled by AMR.
        self.between_stages = ModuleDict()
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        # The training objective (None: standard training); not a module,
        # it holds no weights and is rebuilt from train_cfg.
        self.adversarial_training = None
        self.set_adversarial_training(training_objective(train_cfg))
        self._objective_logged = False
        if amr is not None:
            self.add_amrs(**amr)
        self.minsim = None
        if minsim is not None:
            if self.modalities != MODALITIES:
                raise ValueError('minsim compares the RGB and skeleton '
                                 'features; the model has only '
                                 f'{list(self.modalities)}.')
            self.minsim = MODELS.build(dict(dict(type='MinSimLoss'), **minsim))
        self.feature_defence = None
        if feature_defence is not None:
            self.feature_defence = MODELS.build(
                dict(dict(feat_dims=feat_dims), **feature_defence))

    @staticmethod
    def default_data_preprocessor(rgb: bool = True,
                                  skeleton: bool = True) -> Dict:
        """Stack, cast to float and scale RGB from [0, 255] to [0, 1]."""
        preprocessors = dict()
        if rgb:
            preprocessors['rgb'] = dict(
                type='ActionDataPreprocessor',
                mean=[0., 0., 0.],
                std=[255., 255., 255.],
                format_shape='NCTHW')
        if skeleton:
            preprocessors['skeleton'] = dict(
                type='ActionDataPreprocessor', format_shape='NCTHW')
        return dict(
            type='MultiModalDataPreprocessor', preprocessors=preprocessors)

    @staticmethod
    def _build_coupled(cfg: ConfigType,
                       configs: Dict) -> CoupledStagedBackbone:
        """Build the ``backbone`` argument and check it."""
        given = [f'{m}_backbone' for m, c in configs.items() if c is not None]
        if given:
            raise ValueError(f'Give either backbone or {" and ".join(given)}'
                             ', not both: a coupled backbone runs every '
                             'modality it consumes.')
        backbone = MODELS.build(cfg)
        if not isinstance(backbone, CoupledStagedBackbone):
            raise TypeError(
                f'backbone {type(backbone).__name__} must implement mmamr '
                'CoupledStagedBackbone (pathways that exchange features); '
                'give independent branches as rgb_backbone and '
                'skeleton_backbone.')
        unknown = sorted(set(backbone.modalities) - set(MODALITIES))
        if unknown or not backbone.modalities:
            raise ValueError(f'backbone {type(backbone).__name__} consumes '
                             f'{list(backbone.modalities)}; the recognizer '
                             f'knows {list(MODALITIES)}.')
        return backbone

    @property
    def _units(self) -> list:
        """The backbones as units of the coupled stage interface: one per
        independent branch, or the coupled backbone."""
        units = [_Branch(m, b) for m, b in self.branches.items()]
        if self.backbone is not None:
            units.append(self.backbone)
        return units

    def _units_for(self, modalities: Iterable[str]) -> list:
        """The units running ``modalities``, in their order, each once."""
        by_modality = {m: u for u in self._units for m in u.modalities}
        units = []
        for m in modalities:
            if not any(u is by_modality[m] for u in units):
                units.append(by_modality[m])
        return units

    @property
    def modalities(self) -> Tuple[str, ...]:
        """Modalities this model consumes, in fusion order."""
        consumed = {m for unit in self._units for m in unit.modalities}
        return tuple(m for m in MODALITIES if m in consumed)

    def add_between_stages(self, depth: int, module: nn.Module) -> None:
        """Insert ``module`` after the ``depth``-th deepest stage of both
        branches (``depth=1``: after the last stage).

        ``module(dict(rgb=x_r, skeleton=x_s))`` must return a dict with the
        same keys (the maps that continue forward). A module whose output
        map of each modality depends on that modality's input alone sets
        ``couples_modalities = False`` and must then also accept a dict
        holding only some modalities (see :attr:`branches_interact`).
        """
        for unit in self._units:
            unit.check_stage_count(
                depth, f'A module at depth {depth} '
                f'({_branch_label(unit.modalities)})')
        self.between_stages[str(depth)] = module

    def add_amrs(self,
                 num_modules: int,
                 input_shapes: Optional[Dict[str, Sequence[int]]] = None,
                 **cfg) -> None:
        """Insert AMR modules after the ``num_modules`` deepest stages.

        See the ``amr`` argument of the class. AMR ``i`` (``i = 1 .. S``)
        goes to depth ``i``; its weights take the shapes of the maps there
        for ``input_shapes``, and its auxiliary classifier pools them with
        the backbones' ``pool_stage``.
        """
        if (isinstance(num_modules, bool) or not isinstance(num_modules, int)
                or num_modules < 0):
            raise ValueError(f'amr.num_modules={num_modules!r} must be an '
                             'int >= 0.')
        if num_modules == 0:
            return
        units = self._units_for(self.modalities)
        names = {m: u.name for u in units for m in u.modalities}
        stages = {m: u.num_stages for u in units for m in u.modalities}
        pools = {m: pool for u in units for m, pool in u.stage_pools().items()}
        if num_modules > min(stages.values()):
            counts = ', '.join(f'{names[m]} ({m}) has {n}'
                               for m, n in stages.items())
            raise ValueError(
                f'amr.num_modules={num_modules} exceeds the stages of the '
                f'branches: {counts}; at most {min(stages.values())} AMRs '
                'fit.')
        if input_shapes is None:
            raise ValueError('amr.input_shapes is required to size the AMR '
                             'weights, e.g. dict(rgb=(3, T, H, W), '
                             'skeleton=(M, T, V, C)) as the pipeline '
                             'produces.')
        shapes = self.stage_shapes(input_shapes)
        cfg.setdefault('type', 'AMR')
        for depth in range(1, num_modules + 1):
            module = MODELS.build(
                dict(
                    cfg,
                    map_shapes={
                        m: shapes[m][-depth][0]
                        for m in self.modalities
                    },
                    feat_dims={
                        m: shapes[m][-depth][1]
                        for m in self.modalities
                    },
                    pools={m: pools[m]
                           for m in self.modalities},
                    num_classes=self.cls_head.num_classes))
            self.add_between_stages(depth, module)

    def stage_shapes(
            self,
            input_shapes: Dict[str,
                               Sequence[int]]) -> Dict[str, List[StageShape]]:
        """Shape of every stage's output for one clip of each modality.

        Each backbone probes itself (:meth:`StagedBackbone.stage_shapes`:
        once, without grad, in eval mode, on zeros); the normalisation is
        only checked to keep the clip shape.

        Args:
            input_shapes (dict): Modality -> clip shape without the batch
                axis (RGB ``(3, T, H, W)``, skeleton ``(M, T, V, C)``).

        Returns:
            dict: Modality -> per stage (shallowest first) a pair (map
            shape without the batch axis, width of ``pool_stage``'s
            output).
        """
        given = sorted(input_shapes or {})
        if given != sorted(self.modalities):
            raise ValueError(f'amr.input_shapes has {given}; the model has '
                             f'the branches {sorted(self.modalities)}.')
        clips = {m: tuple(input_shapes[m]) for m in self.modalities}
        for m, clip in clips.items():
            self._check_clip(m, clip)
        shapes = dict()
        for unit in self._units:
            where = ' and '.join(f'amr.input_shapes[{m!r}]={clips[m]}'
                                 for m in unit.modalities)
            verb = 'does' if len(unit.modalities) == 1 else 'do'
            where = (f'{where} {verb} not fit the '
                     f'{_branch_label(unit.modalities)} ({unit.name})')
            shapes.update(unit.stage_shapes(clips, where))
        return {m: shapes[m] for m in self.modalities}

    def _check_clip(self, modality: str, clip: Tuple[int, ...]) -> None:
        """A clip shape must have the modality's axes and keep its shape
        through the normalisation (mean/std broadcast over it)."""
        unit = self._units_for([modality])[0]
        where = (f'amr.input_shapes[{modality!r}]={clip} does not fit the '
                 f'{modality} branch ({unit.name})')
        if len(clip) != _CLIP_DIMS[modality]:
            raise ValueError(f'{where}: expected {_CLIP_DIMS[modality]} '
                             'sizes (one clip, without the batch axis).')
        try:
            normalized = self.normalize({modality: torch.zeros(1, *clip)})
        except RuntimeError as error:
            raise ValueError(f'{where}: {error}') from error
        if tuple(normalized[modality].shape[1:]) != clip:
            raise ValueError(
                f'{where}: the {modality} mean/std broadcast it to '
                f'{tuple(normalized[modality].shape[1:])}.')

    def set_adversarial_training(self, training) -> None:
        """Replace the training objective that :meth:`loss` computes (for
        scripts; configs set ``train_cfg``).

        Args:
            training (AdversarialTraining, optional): Standard training
                when None.
        """
        if training is not None:
            training.check_model(self)
        self.adversarial_training = training

    def split_views(
        self,
        inputs: Dict[str, torch.Tensor],
        modalities: Optional[Sequence[str]] = None
    ) -> Tuple[Dict[str, torch.Tensor], int, int]:
        """Fold the view axis into the batch, without touching ``inputs``.

        Args:
            inputs (dict): ``rgb`` ``[N, V, 3, T, H, W]`` or
                ``[N, 3, T, H, W]``; ``skeleton`` ``[N, V, M, T, J, C]`` or
                ``[N, M, T, J, C]``.
            modalities (sequence[str], optional): The modalities to fold.
                Defaults to all of :attr:`modalities`.

        Returns:
            tuple: the folded inputs ``[N * V, ...]``, ``N`` and ``V``.
        """
        modalities = self._check_modalities(modalities)
        missing = [m for m in modalities if m not in inputs]
        if missing:
            raise KeyError(f'{type(self).__name__} needs inputs {missing}; '
                           f'got {sorted(inputs)}.')
        folded, batch, views = dict(), None, None
        for modality in modalities:
            x = inputs[modality]
            if x.dim() == _CLIP_DIMS[modality] + 1:
                x = x.unsqueeze(1)
            if x.dim() != _CLIP_DIMS[modality] + 2:
                raise ValueError(f'{modality} input has shape '
                                 f'{tuple(x.shape)}; expected '
                                 f'{_CLIP_DIMS[modality] + 1} or '
                                 f'{_CLIP_DIMS[modality] + 2} dims.')
            if batch is None:
                batch, views = x.shape[:2]
            elif tuple(x.shape[:2]) != (batch, views):
                raise ValueError('RGB and skeleton inputs disagree on batch '
                                 f'and view sizes: {tuple(x.shape[:2])} vs '
                                 f'{(batch, views)}.')
            folded[modality] = x.flatten(0, 1)
        return folded, batch, views

    def _check_modalities(
            self, modalities: Optional[Sequence[str]]) -> Tuple[str, ...]:
        """Validate a modality subset; keep fusion order."""
        if modalities is None:
            return self.modalities
        unknown = sorted(set(modalities) - set(self.modalities))
        if unknown:
            raise ValueError(f'{type(self).__name__} has no {unknown} '
                             f'branch; it has {list(self.modalities)}.')
        return tuple(m for m in self.modalities if m in modalities)

    def normalize(self, inputs: Dict[str,
                                     torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Differentiable per-modality mean/std normalisation."""
        out = dict(inputs)
        if 'rgb' in out:
            out['rgb'] = (out['rgb'] - self.rgb_mean) / self.rgb_std
        if 'skeleton' in out:
            out['skeleton'] = (out['skeleton'] -
                               self.skeleton_mean) / self.skeleton_std
        return out

    def forward_stages(self,
                       maps: Dict[str, torch.Tensor],
                       return_aux: bool = False) -> object:
        """Run both branches' stages, pausing where a module sits between.

        Args:
            maps (dict): Stem outputs per modality.
            return_aux (bool): Also return the auxiliary predictions of
                the modules between stages. Defaults to False.

        Returns:
            dict | tuple: The last stage's output per modality; with
            ``return_aux``, also ``dict(depth -> [N * V, K])``, the
            ``AUX_LOGITS`` of every module that gave one (AMR only when
            it saw all modalities). They are returned, not stored, so
            repeated and concurrent calls (attacks, DDP) cannot mix them.
        """
        maps = dict(maps)
        aux = dict()
        units = self._units_for(maps)
        done = [0] * len(units)
        depths = sorted((int(d) for d in self.between_stages), reverse=True)
        for depth in depths + [None]:
            for k, unit in enumerate(units):
                # Depth d sits after stage index num_stages - d.
                stop = unit.num_stages - (depth or 1) + 1
                for index in range(done[k], stop):
                    maps.update(
                        unit.forward_stage(
                            index, {m: maps[m]
                                    for m in unit.modalities}))
                done[k] = stop
            if depth is not None:
                out = dict(self.between_stages[str(depth)](maps))
                if AUX_LOGITS in out:
                    aux[depth] = out.pop(AUX_LOGITS)
                if set(out) != set(maps):
                    raise ValueError(
                        f'The module at depth {depth} returned maps '
                        f'{sorted(out)} for {sorted(maps)}.')
                maps = out
        if return_aux:
            return maps, dict(sorted(aux.items()))
        return maps

    @property
    def branches_interact(self) -> bool:
        """Whether a branch's features can depend on the other's input.

        False when the branches are independent backbones and every
        module between stages declares ``couples_modalities = False`` (its
        output map of a modality is a function of that modality's input
        map alone). Then :meth:`branch_features` may run a subset of the
        branches, which lets a single-modality attack reuse the other
        branch's features. A coupled ``backbone`` (lateral connections)
        and unknown modules count as coupling, the safe default.
        """
        modules = self._units + list(self.between_stages.values())
        return any(
            getattr(module, 'couples_modalities', True) for module in modules)

    def branch_features(self,
                        inputs: Dict[str, torch.Tensor],
                        modalities: Optional[Sequence[str]] = None,
                        return_aux: bool = False,
                        defend: bool = True) -> tuple:
        """Pooled features of each branch, before fusion.

        Args:
            inputs (dict): Un-normalised inputs (see :meth:`split_views`).
            modalities (sequence[str], optional): Run only these branches.
                Allowed only when not :attr:`branches_interact`; defaults
                to every branch.
            return_aux (bool): Also return the auxiliary predictions
                (see :meth:`forward_stages`). Defaults to False.
            defend (bool): Apply the ``feature_defence`` (if any).
                Defaults to True; False gives the raw features (from
                which ExFMem's dictionaries are built).

        Returns:
            tuple: ``dict(modality -> [N * V, D_m])``, ``N``, ``V`` (and,
            with ``return_aux``, ``dict(depth -> [N * V, K])``).
        """
        subset = modalities is not None and (set(modalities) != set(
            self.modalities))
        if subset and self.branches_interact:
            raise RuntimeError(
                'The branches of this model interact before fusion (a '
                'module between stages couples them), so one branch cannot '
                'run without the other.')
        folded, batch, views = self.split_views(inputs, modalities)
        folded = self.normalize(folded)
        units = self._units_for(folded)
        maps = dict()
        for unit in units:
            maps.update(
                unit.forward_stem({m: folded[m]
                                   for m in unit.modalities}))
        maps, aux = self.forward_stages(maps, return_aux=True)
        feats = dict()
        for unit in units:
            feats.update(
                unit.forward_head({m: maps[m]
                                   for m in unit.modalities}))
        if defend and self.feature_defence is not None:
            feats = self.feature_defence(feats)
        if return_aux:
            return feats, batch, views, aux
        return feats, batch, views

    def fuse(self, feats: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Concatenate branch features in fusion order: ``[N * V, D]``."""
        return torch.cat([feats[m] for m in self.modalities], dim=1)

    def fused_logits(self, feats: Dict[str, torch.Tensor], batch: int,
                     views: int) -> torch.Tensor:
        """Class scores ``[N, K]`` from branch features, views averaged.

        ``fused_logits(*branch_features(x)) == logits(x)``.
        """
        scores = self.cls_head(self.fuse(feats))
        return scores.view(batch, views, -1).mean(dim=1)

    def extract_feat(
            self, inputs: Dict[str,
                               torch.Tensor]) -> Tuple[torch.Tensor, int, int]:
        """Fused features of a batch.

        Args:
            inputs (dict): Un-normalised inputs (see :meth:`split_views`).

        Returns:
            tuple: features ``[N * V, D]`` (RGB then skeleton), ``N``, ``V``.
        """
        feats, batch, views = self.branch_features(inputs)
        return self.fuse(feats), batch, views

    def loss(self, inputs: Dict[str, torch.Tensor],
             data_samples: SampleList) -> Dict[str, torch.Tensor]:
        """Training losses of a batch (one view per sample).

        Computed by :attr:`adversarial_training`, the objective of
        ``train_cfg`` (standard training when unset): ``loss_cls`` (plus
        ``loss_aux`` with AMRs) in standard training; see
        :class:`AdversarialTraining` for the others. The adversarial
        examples are made here, inside the forward that
        ``MMDistributedDataParallel`` runs, so they exist under DDP too.
        """
        objective = self.adversarial_training or STANDARD_TRAINING
        if not self._objective_logged:
            self._objective_logged = True
            print_log(f'Training objective: {objective}', logger='current')
        return objective.loss(self, inputs, data_samples)

    def predict(self, inputs: Dict[str, torch.Tensor],
                data_samples: SampleList) -> SampleList:
        """Predictions, averaged over views as ``cls_head`` configures."""
        feats, _, _ = self.extract_feat(inputs)
        return self.cls_head.predict(feats, data_samples)

    def logits(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Class scores ``[N, K]``, the mean of the views' scores.

        This is the differentiable ``model(inputs) -> logits`` map that
        attacks use.
        """
        return self.fused_logits(*self.branch_features(inputs))

    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[SampleList] = None,
                mode: str = 'tensor') -> object:
        """Dispatch like every mmengine model.

        Args:
            inputs (dict): ``dict(rgb=..., skeleton=...)`` as produced by
                the data preprocessor.
            data_samples (list[ActionDataSample], optional): Annotations.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'`` (logits
                ``[N, K]``).
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.logits(inputs)
        raise RuntimeError(f'Invalid mode "{mode}"; use loss, predict or '
                           'tensor.')

# Copyright (c) mmamr contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmaction.registry import MODELS
from mmaction.utils import ConfigType, OptConfigType, SampleList
from mmengine.model import BaseModel, ModuleDict
from torch import nn

from mmamr.common import AUX_LOGITS, MODALITIES
from ..backbones.staged_backbone import StagedBackbone
from .adversarial_training import STANDARD_TRAINING

# Dimensions of one clip, without batch and view axes: RGB [C, T, H, W],
# skeleton [M, T, V, C].
_CLIP_DIMS = dict(rgb=4, skeleton=4)


@MODELS.register_module()
class RGBSkeletonRecognizer(BaseModel):
    """Two-stream RGB + skeleton recognizer with late fusion.

    Each branch is a :class:`StagedBackbone`; the branches run stage by
    stage so that modules registered with :meth:`add_between_stages` (AMR)
    can act on both branches' hidden maps at the same depth. The pooled
    features of the branches are concatenated (RGB first) and classified
    by ``cls_head`` (:class:`FusionHead` by default). Either branch may be
    omitted for the unimodal baselines.

    With ``amr``, ``S`` :class:`AMR` modules sit after the ``S`` deepest
    stages of both branches (AMR 1 after the last stage, AMR 2 one stage
    earlier, ...; paper §4.2). They act on every input, in training and at
    test time (DESIGN.md D3); their auxiliary predictions only enter the
    training loss.

    The training loss is set by :meth:`set_adversarial_training` (done by
    ``AdversarialTrainLoop``): standard by default, or Madry adversarial
    training, or AMR's Eq. 12 (see :class:`AdversarialTraining`).

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
        train_cfg, test_cfg (dict, optional): Kept for mmaction2 parity.
        init_cfg (dict, optional): Weight init config.
    """

    def __init__(self,
                 cls_head: ConfigType,
                 rgb_backbone: OptConfigType = None,
                 skeleton_backbone: OptConfigType = None,
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
        if data_preprocessor is None:
            data_preprocessor = self.default_data_preprocessor(
                rgb=rgb_backbone is not None,
                skeleton=skeleton_backbone is not None)
        if isinstance(data_preprocessor, dict):
            # Built here: mmengine's BaseModel would look in its own
            # registry, which lacks mmaction's preprocessors.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        configs = dict(rgb=rgb_backbone, skeleton=skeleton_backbone)
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
        if not self.branches:
            raise ValueError('RGBSkeletonRecognizer needs at least one of '
                             'rgb_backbone and skeleton_backbone.')
        feat_dims = {m: b.feat_dim for m, b in self.branches.items()}
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
        # it holds no weights and is rebuilt from the config by the loop.
        self.adversarial_training = None
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

    @property
    def modalities(self) -> Tuple[str, ...]:
        """Modalities this model consumes, in fusion order."""
        return tuple(m for m in MODALITIES if m in self.branches)

    def add_between_stages(self, depth: int, module: nn.Module) -> None:
        """Insert ``module`` after the ``depth``-th deepest stage of both
        branches (``depth=1``: after the last stage).

        ``module(dict(rgb=x_r, skeleton=x_s))`` must return a dict with the
        same keys (the maps that continue forward). A module whose output
        map of each modality depends on that modality's input alone sets
        ``couples_modalities = False`` and must then also accept a dict
        holding only some modalities (see :attr:`branches_interact`).
        """
        for modality, backbone in self.branches.items():
            backbone.check_stage_count(
                depth, f'A module at depth {depth} ({modality} branch)')
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
        stages = {m: b.num_stages for m, b in self.branches.items()}
        if num_modules > min(stages.values()):
            counts = ', '.join(
                f'{type(self.branches[m]).__name__} ({m}) has {n}'
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
                    pools={
                        m: self.branches[m].pool_stage
                        for m in self.modalities
                    },
                    num_classes=self.cls_head.num_classes))
            self.add_between_stages(depth, module)

    def stage_shapes(
        self, input_shapes: Dict[str, Sequence[int]]
    ) -> Dict[str, List[Tuple[Tuple[int, ...], int]]]:
        """Shape of every stage's output for one clip of each modality.

        Runs the branches once, without grad, in eval mode (no BatchNorm
        statistics change), on zeros of ``[1, *input_shapes[m]]``.

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
        flags = [(module, module.training) for module in self.modules()]
        self.eval()
        shapes = dict()
        try:
            for m in self.modalities:
                shapes[m] = self._stage_shapes(m, tuple(input_shapes[m]))
        finally:
            for module, flag in flags:
                module.training = flag
        return shapes

    def _stage_shapes(
            self, modality: str,
            clip: Tuple[int, ...]) -> List[Tuple[Tuple[int, ...], int]]:
        backbone = self.branches[modality]
        where = (f'amr.input_shapes[{modality!r}]={clip} does not fit the '
                 f'{modality} branch ({type(backbone).__name__})')
        if len(clip) != _CLIP_DIMS[modality]:
            raise ValueError(f'{where}: expected {_CLIP_DIMS[modality]} '
                             'sizes (one clip, without the batch axis).')
        shapes = []
        with torch.no_grad():
            try:
                x = self.normalize({modality: torch.zeros(1, *clip)})
                x = backbone.forward_stem(x[modality])
                for index in range(backbone.num_stages):
                    x = backbone.forward_stage(index, x)
                    pooled = backbone.pool_stage(x)
                    if pooled.dim() != 2 or pooled.shape[0] != 1:
                        raise ValueError(
                            f'pool_stage gave {tuple(pooled.shape)} for one '
                            'clip; it must give [1, C] (merging any axis '
                            'the backbone folds into the batch).')
                    shapes.append((tuple(x.shape[1:]), pooled.shape[1]))
            except (RuntimeError, ValueError) as error:
                raise ValueError(f'{where}: {error}') from error
        return shapes

    def set_adversarial_training(self, training) -> None:
        """Set the training objective that :meth:`loss` computes.

        Args:
            training (AdversarialTraining, optional): Standard training
                when None (the default).
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
        done = {m: 0 for m in maps}
        depths = sorted((int(d) for d in self.between_stages), reverse=True)
        for depth in depths + [None]:
            for modality in maps:
                backbone = self.branches[modality]
                # Depth d sits after stage index num_stages - d.
                stop = backbone.num_stages - (depth or 1) + 1
                for index in range(done[modality], stop):
                    maps[modality] = backbone.forward_stage(
                        index, maps[modality])
                done[modality] = stop
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

        False when every module between stages declares
        ``couples_modalities = False`` (its output map of a modality is a
        function of that modality's input map alone). Then
        :meth:`branch_features` may run a subset of the branches, which
        lets a single-modality attack reuse the other branch's features.
        Unknown modules count as coupling, the safe default.
        """
        return any(
            getattr(module, 'couples_modalities', True)
            for module in self.between_stages.values())

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
        maps = {m: self.branches[m].forward_stem(x) for m, x in folded.items()}
        maps, aux = self.forward_stages(maps, return_aux=True)
        feats = {m: self.branches[m].forward_head(x) for m, x in maps.items()}
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

        Computed by :attr:`adversarial_training` (standard training when
        unset): ``loss_cls`` (plus ``loss_aux`` with AMRs) in standard
        training; see :class:`AdversarialTraining` for the others. The
        adversarial examples are made here, inside the forward that
        ``MMDistributedDataParallel`` runs, so they exist under DDP too.
        """
        return (self.adversarial_training
                or STANDARD_TRAINING).loss(self, inputs, data_samples)

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

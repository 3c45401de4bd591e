# Copyright (c) mmamr contributors. All rights reserved.
"""Training objectives: standard, Madry AT and AMR's Eq. 11-12."""
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.logging import MessageHub

import mmamr  # noqa: F401  (registers the plugin)
from mmamr.attacks import PGD
from mmamr.models import AdversarialTraining
from mmamr.models.recognizers.adversarial_training import attack_generator

N, T, SIZE, M, V, K = 4, 16, 32, 2, 25, 5
LABELS = (1, 3, 0, 3)
ATTACK = dict(
    type='PGD',
    eps=dict(rgb=8 / 255, skeleton=8 / 255),
    alpha=dict(rgb=2 / 255, skeleton=2 / 255),
    steps=2,
    random_start=False,
    targets='both')


def build(num_modules=2, rgb=True, train_cfg=None):
    cfg = dict(
        train_cfg=train_cfg,
        type='RGBSkeletonRecognizer',
        rgb_backbone=dict(type='InceptionI3D', width_multiplier=0.125)
        if rgb else None,
        skeleton_backbone=dict(
            type='HCN',
            base_channels=32,
            clip_len=T,
            fc7_channels=16,
            dropout=0.),
        cls_head=dict(type='FusionHead', num_classes=K, dropout_ratio=0.))
    if num_modules and rgb:
        cfg['amr'] = dict(
            num_modules=num_modules,
            init='uniform',
            input_shapes=dict(rgb=(3, T, SIZE, SIZE), skeleton=(M, T, V, 3)))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.train()


def make_inputs(seed=1):
    gen = torch.Generator().manual_seed(seed)
    return dict(
        rgb=torch.rand(N, 1, 3, T, SIZE, SIZE, generator=gen),
        skeleton=torch.rand(N, 1, M, T, V, 3, generator=gen))


def make_samples():
    return [ActionDataSample().set_gt_label(label) for label in LABELS]


def total(model, losses):
    """What mmengine optimises: the sum of every key containing 'loss'."""
    loss, _ = model.parse_losses(losses)
    return loss


def train_logits(model, inputs):
    """Final and auxiliary logits of one train-mode forward."""
    feats, batch, views, aux = model.branch_features(inputs, return_aux=True)
    return model.fused_logits(feats, batch, views), aux


@pytest.mark.parametrize('lam', [1.0, 0.5])
def test_amr_loss_is_eq_12(lam):
    """The model's train_cfg configures the objective, as in the paper's
    AMR configs."""
    model = build(train_cfg=dict(mode='amr', attack=ATTACK, lam=lam))
    assert repr(model.adversarial_training) == repr(
        AdversarialTraining('amr', ATTACK, lam=lam))
    inputs, samples = make_inputs(), make_samples()
    labels = torch.tensor(LABELS)
    # Reference: Eq. 12 computed by hand, the adversarial example from
    # the same (deterministic) attack in eval mode, made before the
    # training forwards update the BatchNorm statistics.
    adv = PGD(**{
        k: v
        for k, v in ATTACK.items() if k != 'type'
    })(model, inputs, labels)
    losses = model(inputs, samples, mode='loss')
    assert {'loss_clean', 'loss_adv', 'loss_aux'} <= set(losses)
    clean_logits, _ = train_logits(model, inputs)
    adv_logits, aux = train_logits(model, adv)
    assert sorted(aux) == [1, 2]
    expected = F.cross_entropy(clean_logits, labels) + lam * (
        F.cross_entropy(adv_logits, labels) +
        sum(F.cross_entropy(a, labels) for a in aux.values()) / len(aux))
    torch.testing.assert_close(total(model, losses), expected)
    torch.testing.assert_close(losses['loss_adv'],
                               lam * F.cross_entropy(adv_logits, labels))


def test_madry_loss_is_on_adversarial_examples_only():
    model = build(num_modules=0)
    inputs, samples = make_inputs(), make_samples()
    labels = torch.tensor(LABELS)
    adv = PGD(
        steps=2, random_start=False, targets='rgb')(model, inputs, labels)
    assert torch.equal(adv['skeleton'], inputs['skeleton'])  # ✗R only
    model.set_adversarial_training(
        AdversarialTraining('madry', dict(ATTACK, targets='rgb')))
    losses = model(inputs, samples, mode='loss')
    assert [k for k in losses if 'loss' in k] == ['loss_adv']
    assert 'adv_top1_acc' in losses
    logits, _ = train_logits(model, adv)
    torch.testing.assert_close(
        total(model, losses), F.cross_entropy(logits, labels))
    # With AMRs, Madry AT optimises L_AMR of Eq. 11 on x'.
    model = build()
    model.set_adversarial_training(AdversarialTraining('madry', ATTACK))
    losses = model(inputs, samples, mode='loss')
    assert sorted(k for k in losses if 'loss' in k) == ['loss_adv', 'loss_aux']


def test_standard_training_is_the_plain_loss_plus_deep_supervision():
    plain = build(num_modules=0)
    losses = plain(make_inputs(), make_samples(), mode='loss')
    assert [k for k in losses if 'loss' in k] == ['loss_cls']
    logits, _ = train_logits(plain, make_inputs())
    labels = torch.tensor(LABELS)
    torch.testing.assert_close(losses['loss_cls'],
                               F.cross_entropy(logits, labels))
    model = build()
    losses = model(make_inputs(), make_samples(), mode='loss')
    logits, aux = train_logits(model, make_inputs())
    expected = F.cross_entropy(logits, labels) + sum(
        F.cross_entropy(a, labels) for a in aux.values()) / len(aux)
    torch.testing.assert_close(total(model, losses), expected)


def test_adversarial_pass_trains_amr_weights_and_aux_heads():
    model = build()
    model.set_adversarial_training(AdversarialTraining('amr', ATTACK))
    losses = model(make_inputs(), make_samples(), mode='loss')
    # The attack computed no parameter gradient (autograd.grad w.r.t. the
    # inputs only), so none exists before the backward.
    assert all(p.grad is None for p in model.parameters())
    adversarial = losses['loss_adv'] + losses['loss_aux']
    adversarial.backward(retain_graph=True)
    for depth in ('1', '2'):
        amr = model.between_stages[depth]
        for name, param in [('W_R', amr.weights['rgb']),
                            ('W_S', amr.weights['skeleton']),
                            ('fc', amr.fc.weight)]:
            assert param.grad is not None and param.grad.abs().sum() > 0, (
                f'AMR {depth} {name} got no gradient from the adversarial '
                'pass')
    # The clean pass contributes only its final prediction (D3): it
    # reaches the AMR weights (they act on clean inputs too) but not the
    # auxiliary classifiers.
    model.zero_grad(set_to_none=True)
    losses['loss_clean'].backward()
    amr = model.between_stages['1']
    assert amr.fc.weight.grad is None or amr.fc.weight.grad.abs().sum() == 0
    assert amr.weights['rgb'].grad.abs().sum() > 0


@pytest.mark.parametrize('mode, forwards', [('standard', 1), ('madry', 1),
                                            ('amr', 2)])
def test_attack_runs_in_eval_mode_training_forwards_in_train_mode(
        mode, forwards):
    """BatchNorm statistics move once per training forward (clean and
    adversarial batches are two forwards), never during the attack."""
    model = build()
    attack = None if mode == 'standard' else ATTACK
    model.set_adversarial_training(AdversarialTraining(mode, attack))
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    before = [int(bn.num_batches_tracked) for bn in bns]
    model(make_inputs(), make_samples(), mode='loss')
    after = [int(bn.num_batches_tracked) for bn in bns]
    assert [a - b for a, b in zip(after, before)] == [forwards] * len(bns)
    assert all(m.training for m in model.modules())


def test_random_starts_follow_the_seed_and_the_iteration():
    # The latest MessageHub is the current one, as in a Runner.
    hub = MessageHub.get_instance(f'test_random_starts_{id(object())}')
    assert attack_generator(torch.device('cpu')) is None  # no seed yet
    model = build(num_modules=1).eval()
    attack = dict(ATTACK, random_start=True, steps=1)
    training = AdversarialTraining('madry', attack)
    model.set_adversarial_training(training)
    inputs, samples = make_inputs(), make_samples()

    def loss_at(seed, iteration):
        hub.update_info('seed', seed)
        hub.update_info('iter', iteration)
        return float(model(inputs, samples, mode='loss')['loss_adv'].detach())

    first = loss_at(0, 5)
    assert loss_at(0, 5) == first  # reproducible, e.g. after a resume
    assert loss_at(0, 6) != first  # a fresh start at every iteration
    assert loss_at(1, 5) != first
    # The global RNG stream (dropout, augmentation) is left alone.
    state = torch.get_rng_state()
    loss_at(0, 5)
    assert torch.equal(torch.get_rng_state(), state)


def test_train_cfg_is_the_objective_and_is_logged_once(monkeypatch):
    lines = []
    monkeypatch.setattr(
        'mmamr.models.recognizers.rgb_skeleton_recognizer.print_log',
        lambda msg, *a, **k: lines.append(msg))
    for train_cfg in (None, {}):
        assert build(
            num_modules=0, train_cfg=train_cfg).adversarial_training is None
    madry = dict(mode='madry', attack=dict(ATTACK, targets='rgb'))
    model = build(num_modules=0, train_cfg=madry)
    assert model.train_cfg == madry
    assert model.adversarial_training.mode == 'madry'
    assert model.adversarial_training.attack.targets == 'rgb'
    # The script API replaces it; the same losses either way.
    other = build(num_modules=0)
    other.set_adversarial_training(AdversarialTraining(**madry))
    inputs, samples = make_inputs(), make_samples()
    losses = model(inputs, samples, mode='loss')
    torch.testing.assert_close(losses, other(inputs, samples, mode='loss'))
    assert lines == [
        f'Training objective: {model.adversarial_training}',
        f'Training objective: {other.adversarial_training}'
    ]
    model(inputs, samples, mode='loss')
    assert len(lines) == 2  # once per model
    assert lines[0].startswith(
        "Training objective: AdversarialTraining(mode='madry'")


def test_bad_configurations_are_clear_errors():
    with pytest.raises(ValueError, match="mode='fgsm'"):
        AdversarialTraining('fgsm', ATTACK)
    with pytest.raises(ValueError, match='needs an attack'):
        AdversarialTraining('amr')
    with pytest.raises(ValueError, match='clean inputs only'):
        AdversarialTraining('standard', ATTACK)
    with pytest.raises(ValueError, match="mode='amr' only"):
        AdversarialTraining('madry', ATTACK, lam=0.5)
    with pytest.raises(ValueError, match='lam=-1'):
        AdversarialTraining('amr', ATTACK, lam=-1)
    # The same checks on the model's train_cfg, at construction.
    with pytest.raises(ValueError, match="mode='amr' only"):
        build(train_cfg=dict(mode='madry', attack=ATTACK, lam=0.5))
    with pytest.raises(ValueError, match=r"unknown keys \['max_epochs'\]"):
        build(train_cfg=dict(mode='amr', attack=ATTACK, max_epochs=80))
    with pytest.raises(ValueError, match=r"targets \['rgb'\]"):
        build(rgb=False, train_cfg=dict(mode='madry', attack=ATTACK))
    skeleton_only = build(rgb=False)
    with pytest.raises(ValueError, match=r"targets \['rgb'\]"):
        skeleton_only.set_adversarial_training(
            AdversarialTraining('madry', ATTACK))
    # A unimodal model trains adversarially on its own modality.
    skeleton_only.set_adversarial_training(
        AdversarialTraining('madry', dict(ATTACK, targets='skeleton')))
    inputs = make_inputs()
    losses = skeleton_only(
        dict(skeleton=inputs['skeleton']), make_samples(), mode='loss')
    assert losses['loss_adv'] > 0

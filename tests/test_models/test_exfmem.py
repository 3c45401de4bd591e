# Copyright (c) mmamr contributors. All rights reserved.
"""ExFMem (Tian & Xu): ISTA solves the lasso, the blend, the missing
dictionaries, and white-box attacks through the unrolled ISTA."""
import numpy as np
import pytest
import torch
from mmaction.registry import MODELS

import mmamr  # noqa: F401  (registers the plugin)
from mmamr.attacks import PGD
from mmamr.models import ExFMem, ista, lipschitz_constant

LAM = 0.1


def lasso_objective(D, f, h, lam=LAM):
    return 0.5 * ((h @ D.T - f)**2).sum(1) + lam * h.abs().sum(1)


def coordinate_descent(D, f, lam=LAM, sweeps=5000):
    """A reference lasso solver of another kind (cyclic coordinate
    descent, float64 numpy) for one feature ``f [d]``."""
    D, f = np.asarray(D, np.float64), np.asarray(f, np.float64)
    h = np.zeros(D.shape[1])
    residual = f.copy()
    norms = (D**2).sum(0)
    for _ in range(sweeps):
        largest = 0.
        for j in range(D.shape[1]):
            rho = D[:, j] @ residual + norms[j] * h[j]
            new = np.sign(rho) * max(abs(rho) - lam, 0.) / norms[j]
            residual -= D[:, j] * (new - h[j])
            largest = max(largest, abs(new - h[j]))
            h[j] = new
        if largest < 1e-13:
            break
    return h


def random_problem(d=12, k=8, batch=3, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    D = torch.randn(d, k, generator=gen, dtype=dtype)
    f = torch.randn(batch, d, generator=gen, dtype=dtype)
    return D, f


def test_lipschitz_constant_is_the_largest_eigenvalue_of_gram():
    D, _ = random_problem(d=9, k=14)
    expected = torch.linalg.eigvalsh(D.T @ D).max()
    torch.testing.assert_close(lipschitz_constant(D), expected)


@pytest.mark.parametrize('step', [1.0, 0.5])
def test_orthonormal_dictionary_gives_the_soft_threshold(step):
    """With DᵀD = I the lasso's solution is S_λ(Dᵀf), in closed form."""
    gen = torch.Generator().manual_seed(3)
    D = torch.linalg.qr(torch.randn(10, 6, generator=gen,
                                    dtype=torch.float64))[0]
    f = torch.randn(4, 10, generator=gen, dtype=torch.float64)
    codes, iters = ista(D, f, LAM, step=step, tol=1e-12)
    expected = torch.nn.functional.softshrink(f @ D, LAM)
    torch.testing.assert_close(codes, expected, atol=1e-10, rtol=0)
    if step == 1.0:  # one step lands on it, the second sees no change
        assert iters == 2


@pytest.mark.parametrize('lam', [LAM, 1.0])
def test_ista_matches_coordinate_descent(lam):
    D, f = random_problem(d=12, k=8)
    codes, iters = ista(D, f, lam, 1 / float(lipschitz_constant(D)),
                        tol=1e-12, max_iters=100000)
    assert iters < 100000
    zeros = 0
    for h, x in zip(codes, f):
        ref = coordinate_descent(D.numpy(), x.numpy(), lam)
        np.testing.assert_allclose(h.numpy(), ref, atol=1e-8)
        zeros += len(ref) - np.count_nonzero(ref)
    if lam == 1.0:
        assert zeros > 0  # the L1 term bites: exact zeros found by both


def test_overcomplete_dictionary_and_the_reference_stopping_rule():
    """ExFMem's dictionaries have more atoms than dimensions (the lasso
    solution need not be unique). The long-run solution meets the KKT
    conditions; the reference's rule (‖Δh‖ < 8e-4) stops each sample at
    its first iteration whose update is below 8e-4, above the optimum's
    objective."""
    D, f = random_problem(d=16, k=48, batch=5, seed=1)
    lam = 0.5  # sparser, so that the long run converges in seconds
    step = 1 / float(lipschitz_constant(D))
    codes, iters = ista(D, f, lam, step)  # tol 8e-4, 2000 iters
    assert 1 < iters < 2000
    best, long_iters = ista(D, f, lam, step, tol=1e-11, max_iters=50000)
    assert long_iters < 50000
    gap = lasso_objective(D, f, codes, lam) - lasso_objective(
        D, f, best, lam)
    assert (gap >= -1e-9).all()
    stops = []
    for row, x in zip(codes, f):
        # The k-th iterate of this sample alone (tol 0: no stopping).
        iterates = [
            ista(D, x[None], lam, step, tol=0., max_iters=k)[0][0]
            for k in range(iters + 1)
        ]
        # Its codes are the first iterate whose update is below 8e-4.
        k = next(k for k in range(1, iters + 1)
                 if (iterates[k] - iterates[k - 1]).norm() < 8e-4)
        torch.testing.assert_close(row, iterates[k], atol=1e-12, rtol=0)
        stops.append(k)
    assert max(stops) == iters
    # KKT at the long-run solution: |Dᵀ(Dh − f)| <= λ, = λ where h != 0.
    grad = (best @ D.T - f) @ D
    assert (grad.abs() <= lam + 1e-7).all()
    active = best != 0
    assert 0 < active.sum() < active.numel()
    torch.testing.assert_close(grad[active], -lam * best[active].sign(),
                               atol=1e-7, rtol=0)


def test_batch_rows_are_coded_as_alone():
    """A sample's codes do not depend on its batch mates, so a defended
    model's test predictions do not depend on batching or on how many
    processes share the test set."""
    D, f = random_problem(d=20, k=12, batch=6, seed=2)
    step = 1 / float(lipschitz_constant(D))
    batched, iters = ista(D, f, LAM, step)
    alone = [ista(D, x[None], LAM, step) for x in f]
    for row, (codes, _) in zip(batched, alone):
        torch.testing.assert_close(row, codes[0], atol=1e-12, rtol=0)
    # Not vacuous: the rows need different numbers of iterations, and
    # running the fast ones as long as the slowest would change them.
    counts = [n for _, n in alone]
    assert min(counts) < max(counts) == iters
    fastest = counts.index(min(counts))
    longer, _ = ista(
        D, f[fastest:fastest + 1], LAM, step, tol=0., max_iters=iters)
    assert not torch.allclose(longer[0], batched[fastest], atol=1e-9,
                              rtol=0)
    exact, _ = ista(D, f, LAM, step, tol=1e-13, max_iters=100000)
    for x, best in zip(f, exact):
        long_alone, _ = ista(D, x[None], LAM, step, tol=1e-13,
                             max_iters=100000)
        torch.testing.assert_close(long_alone[0], best, atol=1e-9, rtol=0)


def make_exfmem(blend=0.5, step=None, dims=(12, 6), atoms=20, seed=0, **kw):
    gen = torch.Generator().manual_seed(seed)
    mem = ExFMem(
        dict(rgb=dims[0], skeleton=dims[1]),
        num_atoms=atoms,
        blend=blend,
        step=step,
        **kw)
    mem.set_dictionaries(
        dict(
            rgb=torch.rand(dims[0], atoms, generator=gen),
            skeleton=torch.rand(dims[1], atoms, generator=gen)))
    return mem.eval()


def feats(batch=3, dims=(12, 6), seed=5):
    gen = torch.Generator().manual_seed(seed)
    return dict(
        rgb=torch.rand(batch, dims[0], generator=gen),
        skeleton=torch.rand(batch, dims[1], generator=gen))


def test_output_is_the_blend_of_reconstruction_and_input():
    mem = make_exfmem(blend=0.5)
    x = feats()
    out = mem(x)
    for m in ('rgb', 'skeleton'):
        D = mem.dictionary(m)
        codes, _ = ista(D, x[m], LAM, 1 / float(lipschitz_constant(D)))
        torch.testing.assert_close(out[m], 0.5 * codes @ D.T + 0.5 * x[m])
        assert not torch.allclose(out[m], x[m])
        assert mem.last_iters[m] >= 1


def test_blend_zero_is_the_identity():
    mem = make_exfmem(blend=0.)
    x = {m: v.requires_grad_(True) for m, v in feats().items()}
    out = mem(x)
    for m in x:
        assert torch.equal(out[m], x[m])
        grad, = torch.autograd.grad(out[m].sum(), x[m])
        assert torch.equal(grad, torch.ones_like(grad))


def test_one_modality_is_coded_alone():
    mem = make_exfmem()
    x = feats()
    both = mem(x)
    one = mem(dict(skeleton=x['skeleton']))
    assert list(one) == ['skeleton']
    torch.testing.assert_close(one['skeleton'], both['skeleton'])
    only_rgb = make_exfmem(modalities=['rgb'])(x)
    assert torch.equal(only_rgb['skeleton'], x['skeleton'])


def test_gradient_through_the_unrolled_ista_is_exact():
    """gradcheck (float64, a fixed number of iterations): the attack's
    gradient is the true gradient of ExFMem's output."""
    mem = make_exfmem(dims=(5, 4), atoms=7, tol=0., max_iters=30).double()
    x = {m: v.double().requires_grad_(True) for m, v in feats(2, (5, 4))
         .items()}
    assert torch.autograd.gradcheck(
        lambda r, s: tuple(mem(dict(rgb=r, skeleton=s)).values()),
        (x['rgb'], x['skeleton']))


def test_step_size_check_and_errors():
    mem = make_exfmem()
    limit = 1 / float(mem.lipschitz_rgb)
    make_exfmem(step=limit * 0.999)(feats())
    with pytest.raises(ValueError, match='too big for ISTA to converge'):
        make_exfmem(step=limit * 1.5)(feats())
    with pytest.raises(ValueError, match=r'expected \(12, 20\)'):
        mem.set_dictionaries(
            dict(rgb=torch.rand(12, 19), skeleton=torch.rand(6, 20)))
    with pytest.raises(ValueError, match='all zeros'):
        mem.set_dictionaries(
            dict(rgb=torch.zeros(12, 20), skeleton=torch.rand(6, 20)))
    with pytest.raises(ValueError, match=r'expected \[B, 6\]'):
        mem(dict(skeleton=torch.rand(2, 5)))
    with pytest.raises(ValueError, match='modalities'):
        ExFMem(dict(rgb=4), modalities=['skeleton'])


def test_missing_dictionaries_raise_in_eval_and_pass_in_training():
    mem = ExFMem(dict(rgb=12, skeleton=6), num_atoms=20)
    x = feats()
    out = mem.train()(x)
    assert all(out[m] is x[m] for m in x)
    with pytest.raises(RuntimeError, match='tools/build_exfmem.py'):
        mem.eval()(x)


def test_dictionaries_travel_in_the_state_dict():
    mem = make_exfmem()
    fresh = ExFMem(dict(rgb=12, skeleton=6), num_atoms=20).eval()
    fresh.load_state_dict(mem.state_dict())
    x = feats()
    for m, v in fresh(x).items():
        torch.testing.assert_close(v, mem(x)[m])
    # The stored atom count wins over the configured one.
    other = ExFMem(dict(rgb=12, skeleton=6), num_atoms=1024).eval()
    other.load_state_dict(mem.state_dict())
    assert other.num_atoms == 20 and other.atoms_rgb.shape == (12, 20)
    torch.testing.assert_close(other(x)['rgb'], mem(x)['rgb'])
    with pytest.raises(ValueError, match='features are 7 wide'):
        ExFMem(dict(rgb=7, skeleton=6)).load_state_dict(mem.state_dict())


T, SIZE, M, V, K = 16, 32, 2, 25, 5


def build_recognizer(feature_defence=None):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='RGBSkeletonRecognizer',
            rgb_backbone=dict(type='InceptionI3D', width_multiplier=0.125),
            skeleton_backbone=dict(
                type='HCN', base_channels=32, clip_len=T, fc7_channels=16,
                dropout=0.),
            cls_head=dict(
                type='FusionHead', num_classes=K, dropout_ratio=0.),
            feature_defence=feature_defence))
    model.init_weights()
    return model.eval()


def test_recognizer_attack_goes_through_exfmem():
    plain = build_recognizer()
    model = build_recognizer(dict(type='ExFMem', num_atoms=32))
    assert model.feature_defence.feat_dims == dict(rgb=128, skeleton=16)
    gen = torch.Generator().manual_seed(1)
    inputs = dict(
        rgb=torch.rand(4, 1, 3, T, SIZE, SIZE, generator=gen),
        skeleton=torch.rand(4, 1, M, T, V, 3, generator=gen))
    with pytest.raises(RuntimeError, match='no feature dictionaries'):
        model(inputs)
    # Dictionaries from the raw features of other clips.
    bank = dict(
        rgb=torch.rand(32, 1, 3, T, SIZE, SIZE, generator=gen),
        skeleton=torch.rand(32, 1, M, T, V, 3, generator=gen))
    with torch.no_grad():
        raw, _, _ = model.branch_features(bank, defend=False)
    model.feature_defence.set_dictionaries({m: f.T for m, f in raw.items()})

    logits = model(inputs)
    raw_feats, n, v = model.branch_features(inputs, defend=False)
    torch.testing.assert_close(
        logits,
        model.fused_logits(model.feature_defence(raw_feats), n, v))
    assert not torch.allclose(logits, plain(inputs))

    # Gradients flow to the inputs through the unrolled ISTA.
    x = {m: t.clone().requires_grad_(True) for m, t in inputs.items()}
    model(x).logsumexp(1).sum().backward()
    for m in x:
        assert x[m].grad.abs().sum() > 0, m

    # The attack moves ExFMem's output and the logits; the fast path
    # (one modality) still applies the defence to the attacked branch.
    labels = model(inputs).argmax(1)
    for targets in ('both', 'skeleton'):
        attack = PGD(
            eps=dict(rgb=16 / 255, skeleton=16 / 255),
            alpha=dict(rgb=4 / 255, skeleton=4 / 255),
            steps=3,
            random_start=False,
            targets=targets)
        adv = attack(model, inputs, labels)
        adv_raw, _, _ = model.branch_features(adv, defend=False)
        assert not torch.allclose(
            model.feature_defence(adv_raw)['skeleton'],
            model.feature_defence(raw_feats)['skeleton'])
        assert not torch.allclose(model(adv), logits)
        full = PGD(
            eps=dict(rgb=16 / 255, skeleton=16 / 255),
            alpha=dict(rgb=4 / 255, skeleton=4 / 255),
            steps=3,
            random_start=False,
            targets=targets,
            fast_path=False)(model, inputs, labels)
        for m in adv:
            torch.testing.assert_close(adv[m], full[m], atol=1e-5, rtol=0)

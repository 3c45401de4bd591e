# "ExFMem" of the paper's Table 2 on the embedded synthetic dataset: the
# undefended I3D + HCN with Tian & Xu's external feature memory on its branch
# features (ISTA sparse coding over training features, λ = 0.1, blended
# half and half with the input feature).
#
# ExFMem changes nothing in training: reuse the checkpoint of
# ../c3d_hcn_synthetic.py (or train this config, the same model), then
#   python tools/build_exfmem.py THIS_CONFIG CHECKPOINT --out EXFMEM_CKPT
#   python tools/test.py THIS_CONFIG EXFMEM_CKPT --attack pgd ...
# (docs/defences.md). The dictionaries exist only after training, so this
# config trains without validation (ExFMem refuses to run unbuilt in eval
# mode rather than silently evaluate without the defence).
_base_ = ['../c3d_hcn_synthetic.py']

# 512 atoms: the quickstart's 800 training clips hold fewer than 1024.
model = dict(
    feature_defence=dict(
        type='ExFMem',
        num_atoms=512,
        lam=0.1,
        blend=0.5,
        tol=8e-4,
        max_iters=2000))

val_dataloader = None
val_cfg = None
val_evaluator = None

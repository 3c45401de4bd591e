# "ExFMem" of the paper's Table 2 on NTU RGB+D 60 X-Sub: the undefended
# I3D + HCN with Tian & Xu's external feature memory on its branch
# features (ISTA sparse coding over training features, λ = 0.1, blended
# half and half with the input feature).
#
# ExFMem changes nothing in training: reuse the checkpoint of
# ../i3d_hcn_ntu.py (or train this config, the same model), then
#   python tools/build_exfmem.py THIS_CONFIG CHECKPOINT --out EXFMEM_CKPT
#   python tools/test.py THIS_CONFIG EXFMEM_CKPT --attack pgd ...
# (docs/defences.md). The dictionaries exist only after training, so this
# config trains without validation (ExFMem refuses to run unbuilt in eval
# mode rather than silently evaluate without the defence).
_base_ = ['../i3d_hcn_ntu.py']

# 1024 atoms per modality, the reference's memory size.
model = dict(
    feature_defence=dict(
        type='ExFMem',
        num_atoms=1024,
        lam=0.1,
        blend=0.5,
        tol=8e-4,
        max_iters=2000))

val_dataloader = None
val_cfg = None
val_evaluator = None

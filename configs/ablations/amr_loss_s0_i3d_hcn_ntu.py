# A control the paper lacks (next to Tables 4 and 8), on NTU RGB+D 60 X-Sub:
# the AMR loss of Eq. 12 with S = 0, CE(f(x), y) + λ CE(f(x'), y) with
# λ = 1 and no AMR modules (the auxiliary term vanishes). Table 4's
# "0 AMR" row is Madry AT (adversarial loss only), so it differs from the
# AMR rows both in the clean-loss term and in the modules; this run
# separates the two.
_base_ = ['../baselines/at_both_i3d_hcn_ntu.py']

model = dict(train_cfg=dict(mode='amr', lam=1.0))

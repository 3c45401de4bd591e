# "MinSim" of the paper's Table 2 on the embedded synthetic dataset
# (CPU-sized model): the undefended I3D + HCN trained with Tian & Xu's
# dissimilarity loss CE + w · mean cos(f_R, f_S) on the branch features
# (w = 1).
_base_ = ['../c3d_hcn_synthetic.py']

model = dict(minsim=dict(type='MinSimLoss', loss_weight=1.0))

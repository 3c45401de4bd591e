# "MinSim+ExFMem" of the paper's Table 2 on the embedded synthetic
# dataset: the model trained with MinSim (minsim_c3d_hcn_synthetic.py) and
# evaluated with ExFMem dictionaries built from its own training
# features. Reuse the MinSim checkpoint, or train this config (the same
# training), then tools/build_exfmem.py and tools/test.py as in
# exfmem_c3d_hcn_synthetic.py.
_base_ = ['exfmem_c3d_hcn_synthetic.py']

model = dict(minsim=dict(type='MinSimLoss', loss_weight=1.0))

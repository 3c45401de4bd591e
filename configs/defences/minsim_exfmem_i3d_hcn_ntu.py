# "MinSim+ExFMem" of the paper's Table 2 on NTU RGB+D 60 X-Sub: the model
# trained with MinSim (minsim_i3d_hcn_ntu.py) and evaluated with ExFMem
# dictionaries built from its own training features. Reuse the MinSim
# checkpoint, or train this config (the same training), then
# tools/build_exfmem.py and tools/test.py as in exfmem_i3d_hcn_ntu.py.
_base_ = ['exfmem_i3d_hcn_ntu.py']

model = dict(minsim=dict(type='MinSimLoss', loss_weight=1.0))

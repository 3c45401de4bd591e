# Tables 4 and 8, "AT with ✗RS (0 AMR)" on iMiGUE: without AMRs the
# paper's row is the AT ✗RS baseline (same numbers as in Table 2), i.e.
# Madry training.
_base_ = ['../baselines/at_both_i3d_hcn_imigue.py']

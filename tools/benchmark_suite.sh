#!/usr/bin/env bash
# The paper's comparison (Table 2) on the synthetic data in one command:
# None, AT ✗R / ✗S / ✗RS, MinSim, ExFMem, MinSim+ExFMem and AMR, trained
# and evaluated with the same attacks (FGSM, PGD-20, CW-30 at ε 8/255) by
# tools/quickstart.py, then one table per attack as Markdown, CSV and a bar
# plot (tools/analysis/robustness_table.py). Interrupt and rerun at will:
# finished rows are not redone. Arguments go to tools/quickstart.py, e.g.
# --work-dir, --finetune-epochs, --seed, --autoattack (adds APGD-CE and
# AutoAttack tables; hours on a CPU). About 30 minutes on 2 CPU cores
# without it (measured figure in docs/results.md, "The comparison suite").
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/tools/setup_env.sh" lite
cd "$ROOT"
WORK_DIR=work_dirs/suite
AUTOATTACK=0
ARGS=("$@")
for ((i = 0; i < ${#ARGS[@]}; i++)); do
    if [ "${ARGS[$i]}" = "--work-dir" ]; then
        WORK_DIR="${ARGS[$((i + 1))]}"
    elif [ "${ARGS[$i]}" = "--autoattack" ]; then
        AUTOATTACK=1
    fi
done
ROWS=(none at_rgb at_skeleton at_both minsim exfmem minsim_exfmem amr)
LABELS=("None" "AT ✗R" "AT ✗S" "AT ✗RS" "MinSim" "ExFMem" "MinSim+ExFMem" "AMR")
python tools/quickstart.py --work-dir "$WORK_DIR" --rows "${ROWS[@]}" "$@"
RUNS=()
for i in "${!ROWS[@]}"; do
    RUNS+=("${LABELS[$i]}=$WORK_DIR/${ROWS[$i]}/robustness/robustness.json")
done
for attack in FGSM PGD20 CW30; do
    python tools/analysis/robustness_table.py "${RUNS[@]}" --attack "$attack" \
        --baseline None --out "$WORK_DIR/table_$attack" --overwrite \
        --title "Synthetic data, $attack"
done
if [ "$AUTOATTACK" = 1 ]; then
    RUNS=()
    for i in "${!ROWS[@]}"; do
        RUNS+=("${LABELS[$i]}=$WORK_DIR/${ROWS[$i]}/autoattack/robustness.json")
    done
    for attack in APGD-CE100 AutoAttack; do
        python tools/analysis/robustness_table.py "${RUNS[@]}" \
            --attack "$attack" --baseline None \
            --out "$WORK_DIR/table_$attack" --overwrite \
            --title "Synthetic data, $attack"
    done
fi

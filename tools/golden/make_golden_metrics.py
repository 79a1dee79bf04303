"""Write golden values for AUC, precision, recall, the crossentropy metrics,
MAPE and the R2 score, computed by Keras 3 (TensorFlow backend).

Generated with keras 3.15.1, tensorflow-cpu 2.21.0 and numpy 2.4.6 on
Python 3.11 (CPU). Run from the repository root with the reference
environment:

    /work/venv/bin/python tools/golden/make_golden_metrics.py

It writes src/rust/engine/tests/golden/metrics_extra.json. Each case gives
the keras class, its options (keras's argument names), the targets, the
predictions and sample weights, and three results of a fresh metric:

- "result": one update_state() with all rows;
- "running_after_first_rows" and "running_after_all_rows": the result
  after update_state() with rows [0, split), and after a second call with
  rows [split, n). The metric accumulates this way over the batches of an
  epoch.
- "weighted_result": one update_state() with all rows and sample_weight.

Every input is a literal in this file, so a rerun with the same versions
writes the same file. Results are float32 values widened to double.
"""

import json
import os
import re
from pathlib import Path

# oneDNN kernels may reorder float sums, so the golden run uses the plain
# TensorFlow kernels. KERAS_BACKEND must be set before keras is imported.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

OUTPUT = Path("src/rust/engine/tests/golden/metrics_extra.json")

SOURCE = (
    f"tools/golden/make_golden_metrics.py with keras {keras.__version__} "
    f"(TensorFlow backend), tensorflow {tf.__version__}, numpy {np.__version__}, "
    f"TF_ENABLE_ONEDNN_OPTS={os.environ['TF_ENABLE_ONEDNN_OPTS']}"
)

# ---------------------------------------------------------------------------
# Data

# One output column, ten samples. The predictions include exact 0, 1 and a
# tie at 0.5 (keras counts a prediction as positive only when it is strictly
# above a threshold), and 1/3 and 2/3, which sit on the grid of 7 thresholds.
BINARY_TRUE = [[0.0], [1.0], [1.0], [0.0], [1.0], [0.0], [1.0], [0.0], [0.0], [1.0]]
BINARY_PRED = [
    [0.1], [0.8], [0.35], [0.5], [0.5], [0.0], [1.0], [0.65], [1.0 / 3.0], [2.0 / 3.0],
]
BINARY_LOGITS = [[-2.2], [1.4], [-0.6], [0.0], [0.3], [-5.0], [6.0], [0.7], [-1.3], [2.5]]
BINARY_WEIGHTS = [1.0, 0.5, 2.0, 1.0, 0.0, 1.5, 1.0, 3.0, 0.25, 1.0]

# Three output columns (multi-label targets), eight samples. Row 6 has a
# three-way tie for top_k and row 7 a tie between columns 0 and 2.
LABELS_TRUE = [
    [1.0, 0.0, 1.0],
    [0.0, 1.0, 0.0],
    [1.0, 1.0, 0.0],
    [0.0, 0.0, 1.0],
    [1.0, 0.0, 0.0],
    [0.0, 1.0, 1.0],
    [1.0, 0.0, 1.0],
    [0.0, 1.0, 1.0],
]
LABELS_PRED = [
    [0.9, 0.2, 0.6],
    [0.1, 0.7, 0.4],
    [0.6, 0.3, 0.55],
    [0.2, 0.1, 0.8],
    [0.5, 0.49, 0.51],
    [0.3, 0.8, 0.65],
    [0.4, 0.4, 0.4],
    [0.7, 0.2, 0.7],
]
LABELS_WEIGHTS = [1.0, 2.0, 0.5, 0.0, 1.0, 1.5, 3.0, 0.25]

# Four classes, six samples: one-hot targets, class indices and probability
# rows. Row 3 gives its target class probability 0, which is clipped to 1e-7.
CLASS_INDEX = [[0.0], [1.0], [2.0], [3.0], [1.0], [2.0]]
CLASS_ONE_HOT = [[1.0 if j == int(c[0]) else 0.0 for j in range(4)] for c in CLASS_INDEX]
CLASS_PROB = [
    [0.7, 0.1, 0.12, 0.08],
    [0.2, 0.3, 0.4, 0.1],
    [0.05, 0.25, 0.6, 0.1],
    [0.4, 0.35, 0.25, 0.0],
    [0.1, 0.45, 0.3, 0.15],
    [0.2, 0.05, 0.6, 0.15],
]
CLASS_LOGITS = [
    [2.0, -1.0, 0.5, 0.1],
    [-0.3, 0.4, 1.2, -2.0],
    [0.0, 0.0, 3.0, -1.0],
    [1.5, 1.0, -0.5, -4.0],
    [-1.0, 2.0, 0.3, 0.2],
    [0.8, -1.5, 2.2, 0.0],
]
CLASS_WEIGHTS = [1.0, 0.5, 2.0, 0.0, 1.5, 1.0]

# Regression with two outputs, six samples; targets include 0 (MAPE divides
# by max(|y|, 1e-7) there).
REGRESSION_TRUE = [[1.0, 2.0], [0.5, -1.0], [3.0, 0.0], [-2.0, 1.5], [0.0, 0.25], [4.0, -3.0]]
REGRESSION_PRED = [[1.5, 1.0], [0.0, -1.5], [2.0, 0.5], [-1.0, 1.0], [0.75, 0.25], [3.0, -1.0]]
REGRESSION_WEIGHTS = [1.0, 2.0, 0.5, 1.0, 0.0, 3.0]

BINARY = (BINARY_TRUE, BINARY_PRED, BINARY_WEIGHTS)
LOGITS = (BINARY_TRUE, BINARY_LOGITS, BINARY_WEIGHTS)
LABELS = (LABELS_TRUE, LABELS_PRED, LABELS_WEIGHTS)
ONE_HOT = (CLASS_ONE_HOT, CLASS_PROB, CLASS_WEIGHTS)
ONE_HOT_LOGITS = (CLASS_ONE_HOT, CLASS_LOGITS, CLASS_WEIGHTS)
SPARSE = (CLASS_INDEX, CLASS_PROB, CLASS_WEIGHTS)
SPARSE_LOGITS = (CLASS_INDEX, CLASS_LOGITS, CLASS_WEIGHTS)
REGRESSION = (REGRESSION_TRUE, REGRESSION_PRED, REGRESSION_WEIGHTS)

# (case name, keras class name, options, data). The options are keras's
# keyword arguments.
CASES = [
    ("auc_roc", "AUC", {}, BINARY),
    ("auc_pr", "AUC", {"curve": "PR"}, BINARY),
    ("auc_prgain", "AUC", {"curve": "PRGAIN"}, BINARY),
    ("auc_roc_minoring", "AUC", {"summation_method": "minoring"}, BINARY),
    ("auc_roc_majoring", "AUC", {"summation_method": "majoring"}, BINARY),
    ("auc_pr_majoring", "AUC", {"curve": "PR", "summation_method": "majoring"}, BINARY),
    ("auc_roc_7_thresholds", "AUC", {"num_thresholds": 7}, BINARY),
    ("auc_pr_7_thresholds", "AUC", {"num_thresholds": 7, "curve": "PR"}, BINARY),
    ("auc_even_thresholds", "AUC", {"thresholds": [0.75, 0.25, 0.5]}, BINARY),
    ("auc_uneven_thresholds", "AUC", {"thresholds": [0.1, 0.35, 0.8]}, BINARY),
    ("auc_pr_uneven_thresholds", "AUC", {"thresholds": [0.1, 0.35, 0.5, 0.8], "curve": "PR"}, BINARY),
    ("auc_from_logits", "AUC", {"from_logits": True}, LOGITS),
    ("auc_pooled_labels", "AUC", {}, LABELS),
    ("auc_pooled_label_weights", "AUC", {"label_weights": [1.0, 0.5, 2.0]}, LABELS),
    ("auc_multi_label", "AUC", {"multi_label": True}, LABELS),
    ("auc_multi_label_pr", "AUC", {"multi_label": True, "curve": "PR", "num_labels": 3}, LABELS),
    ("auc_multi_label_weights", "AUC", {"multi_label": True, "label_weights": [1.0, 0.5, 2.0]}, LABELS),
    ("precision", "Precision", {}, LABELS),
    ("recall", "Recall", {}, LABELS),
    ("precision_binary", "Precision", {}, BINARY),
    ("recall_binary", "Recall", {}, BINARY),
    ("precision_threshold", "Precision", {"thresholds": 0.3}, LABELS),
    ("recall_threshold", "Recall", {"thresholds": 0.7}, LABELS),
    ("precision_class_id", "Precision", {"class_id": 1}, LABELS),
    ("recall_class_id", "Recall", {"class_id": 2}, LABELS),
    ("precision_top_k", "Precision", {"top_k": 2}, LABELS),
    ("recall_top_k", "Recall", {"top_k": 1}, LABELS),
    ("precision_top_k_class_id", "Precision", {"top_k": 2, "class_id": 0}, LABELS),
    ("recall_top_k_threshold", "Recall", {"top_k": 2, "thresholds": 0.5}, LABELS),
    ("binary_crossentropy", "BinaryCrossentropy", {}, LABELS),
    ("binary_crossentropy_one_column", "BinaryCrossentropy", {}, BINARY),
    ("binary_crossentropy_from_logits", "BinaryCrossentropy", {"from_logits": True}, LOGITS),
    ("binary_crossentropy_label_smoothing", "BinaryCrossentropy", {"label_smoothing": 0.1}, LABELS),
    ("categorical_crossentropy", "CategoricalCrossentropy", {}, ONE_HOT),
    ("categorical_crossentropy_from_logits", "CategoricalCrossentropy", {"from_logits": True}, ONE_HOT_LOGITS),
    ("categorical_crossentropy_label_smoothing", "CategoricalCrossentropy", {"label_smoothing": 0.2}, ONE_HOT),
    ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {}, SPARSE),
    ("sparse_categorical_crossentropy_from_logits", "SparseCategoricalCrossentropy", {"from_logits": True}, SPARSE_LOGITS),
    ("sparse_categorical_crossentropy_ignore_class", "SparseCategoricalCrossentropy", {"ignore_class": 2}, SPARSE),
    ("mean_absolute_percentage_error", "MeanAbsolutePercentageError", {}, REGRESSION),
    ("r2_score", "R2Score", {}, REGRESSION),
    ("r2_score_one_column", "R2Score", {}, BINARY),
    ("r2_score_variance_weighted", "R2Score", {"class_aggregation": "variance_weighted_average"}, REGRESSION),
    ("r2_score_adjusted", "R2Score", {"num_regressors": 3}, REGRESSION),
]

# Rows [0, SPLIT) go into the first update of the running cases.
SPLIT = 4


def result_of(metric):
    return float(np.asarray(metric.result(), dtype=np.float32))


def make_case(class_name, options, data):
    y_true, y_pred, weights = data
    make = lambda: getattr(keras.metrics, class_name)(**options)  # noqa: E731
    y = np.asarray(y_true, dtype=np.float32)
    p = np.asarray(y_pred, dtype=np.float32)
    w = np.asarray(weights, dtype=np.float32)

    whole = make()
    whole.update_state(y, p)

    running = make()
    running.update_state(y[:SPLIT], p[:SPLIT])
    after_first = result_of(running)
    running.update_state(y[SPLIT:], p[SPLIT:])
    after_all = result_of(running)

    weighted = make()
    weighted.update_state(y, p, sample_weight=w)

    return {
        "class": class_name,
        "options": options,
        "y_true": y.tolist(),
        "y_pred": p.tolist(),
        "sample_weight": w.tolist(),
        "result": result_of(whole),
        "running_after_first_rows": after_first,
        "running_after_all_rows": after_all,
        "weighted_result": result_of(weighted),
    }


def check_by_hand(cases):
    """Check two cases against values worked out without keras."""
    # Precision on the one-column data at 0.5: predicted positive are rows
    # 1, 6, 7, 9 (0.5 itself is not above 0.5); rows 1, 6 and 9 are positive,
    # so precision = 3 / 4.
    assert abs(cases["precision_binary"]["result"] - 0.75) < 1e-7
    # Recall: positives are rows 1, 2, 4, 6, 9, of which 1, 6, 9 are found.
    assert abs(cases["recall_binary"]["result"] - 0.6) < 1e-7


def write_json(payload):
    """Write the golden file with each innermost list of numbers on one line."""
    text = json.dumps(payload, indent=2, allow_nan=False)
    text = re.sub(
        r"\[\s*((?:-?[\d.eE+-]+,\s*)*-?[\d.eE+-]+)\s*\]",
        lambda match: "[" + ", ".join(part.strip() for part in match.group(1).split(",")) + "]",
        text,
    )
    OUTPUT.write_text(text + "\n")


def main():
    cases = {name: make_case(class_name, options, data) for name, class_name, options, data in CASES}
    check_by_hand(cases)
    write_json({"source": SOURCE, "split": SPLIT, "cases": cases})
    print(f"{OUTPUT}: {len(cases)} cases")
    print(f"source: {SOURCE}")


if __name__ == "__main__":
    main()

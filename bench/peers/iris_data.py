"""Read bench/data/iris.csv (written by R's write.csv(iris)) as standardized features and labels."""

import csv
from pathlib import Path

import numpy as np

IRIS_CSV = Path(__file__).resolve().parent.parent / "data" / "iris.csv"
FEATURES = ["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"]
SPECIES = ["setosa", "versicolor", "virginica"]


def load():
    """Return x float32 (150, 4) and y int64 labels 0..2 in the order of SPECIES.

    Each feature is standardized to mean 0 and sample standard deviation 1
    (ddof = 1, as R's scale() does).
    """
    if not IRIS_CSV.exists():
        raise FileNotFoundError(
            f"{IRIS_CSV} not found; create it from the repository root with "
            """Rscript -e 'write.csv(iris, "bench/data/iris.csv", row.names = FALSE)'"""
        )
    with IRIS_CSV.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    x = np.array([[float(row[name]) for name in FEATURES] for row in rows], dtype=np.float64)
    y = np.array([SPECIES.index(row["Species"]) for row in rows], dtype=np.int64)
    x = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    return x.astype(np.float32), y

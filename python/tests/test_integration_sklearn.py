"""The scikit-learn integration on a real estimator fitted to generated data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from aiaudit import AuditLogger
from aiaudit.integrations.sklearn import AuditedEstimator, array_hash


def _data(n: int = 200, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def test_fit_and_batched_predictions_are_recorded(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "sk.db", durability="sync")
    X, y = _data()
    model = AuditedEstimator(
        LogisticRegression(C=0.5, max_iter=200),
        model_name="credit-risk",
        model_version="2.3.0",
        audit=audit,
        user_id="trainer-1",
    )
    assert model.fit(X, y) is model
    assert list(model.classes_) == [0, 1]  # the estimator's own attributes pass through
    probs = model.predict_proba(X[:5])
    labels = model.predict(X[:5])
    assert probs.shape == (5, 2) and labels.shape == (5,)

    (fit,) = audit.query(type="model_training")
    assert fit["name"] == "credit-risk fit" and fit["status"] == "INFO"
    assert fit["model"] == {"name": "credit-risk", "version": "2.3.0"}
    assert fit["actor"]["user"] == "trainer-1"
    d = fit["details"]
    assert d["estimator"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert d["params"]["C"] == 0.5 and d["params"]["max_iter"] == 200
    assert d["data"]["X"] == array_hash(X)
    assert d["data"]["X"]["shape"] == [200, 4] and d["data"]["y"]["shape"] == [200]
    assert d["duration_ms"] >= 0

    inferences = audit.query(type="model_inference")
    assert [r["details"]["method"] for r in inferences] == ["predict_proba", "predict"]
    batch = inferences[1]["details"]
    assert batch["batch_size"] == 5
    assert batch["output"] == labels.tolist()
    assert batch["input"] == array_hash(X[:5])
    from aiaudit import _native

    assert batch["input_hashes"] == [_native.hash_input(r) for r in X[:5].tolist()]
    # Floats are kept exactly (shortest round-trip form).
    assert inferences[0]["details"]["output"] == probs.tolist()
    assert audit.verify().intact
    audit.close()


def test_per_row_predictions_are_the_seed_records_findable_by_input(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "rows.db", durability="sync")
    X, y = _data(50)
    model = AuditedEstimator(
        LogisticRegression(), model_name="m", model_version="1", audit=audit, per="row"
    )
    model.fit(X, y)
    model.predict(X[:3])
    rows = audit.query(type="model_inference")
    assert len(rows) == 3
    found = audit.query_by_input(X[1].tolist())
    assert len(found) == 1 and found[0].output_data == int(model.estimator.predict(X[1:2])[0])


def test_a_failing_fit_is_recorded_and_reraised(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "fail.db", durability="sync")
    X, _ = _data(10)
    model = AuditedEstimator(LogisticRegression(), model_name="m", model_version="1", audit=audit)
    with pytest.raises(ValueError):
        model.fit(X, np.zeros(10))  # one class only: scikit-learn refuses
    (rec,) = audit.query(type="model_training")
    assert rec["status"] == "ERROR" and "ValueError" in rec["details"]["error"]
    with pytest.raises(ValueError, match="per must be"):
        AuditedEstimator(LogisticRegression(), model_name="m", model_version="1", per="each")


def test_the_array_hash_is_canonical() -> None:
    X, _ = _data(20)
    # Same data, same hash, whatever the memory layout or byte order.
    assert array_hash(X) == array_hash(np.asfortranarray(X))
    assert array_hash(X) == array_hash(X.astype(X.dtype.newbyteorder(">")))
    assert array_hash(X)["sha256"] != array_hash(X[:19])["sha256"]
    assert array_hash(X)["sha256"] != array_hash(X.astype(np.float32))["sha256"]
    assert array_hash(X.tolist()) == array_hash(X)


def test_importing_aiaudit_imports_no_framework() -> None:
    code = "import sys, aiaudit, aiaudit.integrations; print(any(m.split('.')[0] in ('sklearn', 'numpy', 'langchain_core', 'opentelemetry', 'google') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr

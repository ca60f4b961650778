#!/usr/bin/env python3
"""Makes the digits model fixtures in examples/digits/ (run by hand, never by CI).

Trains scikit-learn's MLPClassifier(hidden_layer_sizes=(32,)) on the bundled
`load_digits` data (8x8 images, pixels 0..16), exports it with skl2onnx, and cuts the
graph at the logits (the last layer before Softmax). Writes:

- model.onnx: the logits graph (Cast, MatMul, Add, Relu, MatMul, Add);
- calibration.json: {"inputs": [[64 numbers], ...]}, 100 training images;
- reference.json: {"inputs": [...], "labels": [...], "logits": [[10 floats], ...]},
  the test split and onnxruntime's float logits on it.

Needs a virtualenv with scikit-learn, skl2onnx, onnx and onnxruntime:
    python3 -m venv ~/.cache/provernet/venv
    ~/.cache/provernet/venv/bin/pip install scikit-learn skl2onnx onnx onnxruntime
    ~/.cache/provernet/venv/bin/python scripts/make-digits-model.py
"""

import json
import os
import tempfile

import numpy as np
import onnx
import onnx.utils
import onnxruntime
from skl2onnx import to_onnx
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

OUT = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "digits")
)
LOGITS = "add_result1"


def main():
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=1000, random_state=0)
    model.fit(x_train, y_train)
    print(f"float accuracy on the test split: {model.score(x_test, y_test):.4f}")

    full = to_onnx(
        model,
        x_train[:1].astype(np.float32),
        options={id(model): {"zipmap": False}},
        target_opset=13,
    )
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "model.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        whole = os.path.join(tmp, "whole.onnx")
        onnx.save(full, whole)
        onnx.utils.extract_model(whole, path, ["X"], [LOGITS])
    onnx.checker.check_model(onnx.load(path))

    session = onnxruntime.InferenceSession(path)
    logits = session.run(None, {"X": x_test.astype(np.float32)})[0]
    agree = float(np.mean(np.argmax(logits, axis=1) == model.predict(x_test)))
    print(f"onnxruntime's argmax agrees with scikit-learn's on {agree:.4f} of the test split")

    def ints(rows):
        return [[int(v) for v in row] for row in rows]

    with open(os.path.join(OUT, "calibration.json"), "w") as f:
        json.dump({"inputs": ints(x_train[:100])}, f, separators=(",", ":"))
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(
            {
                "inputs": ints(x_test),
                "labels": [int(v) for v in y_test],
                "logits": [[round(float(v), 5) for v in row] for row in logits],
            },
            f,
            separators=(",", ":"),
        )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

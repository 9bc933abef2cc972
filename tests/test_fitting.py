"""The fit loop on several devices: Keras' DataParallel under JAX, on simulated CPU devices."""

import json
import os
import subprocess
import sys

from conftest import ROOT

TWO_DEVICES = r"""
import json, sys
import keras, numpy as np
from nmt.batching import Batches
from nmt.config import Config
from nmt.fitting import distribute_over_devices, next_learning_rate
from nmt.model import Seq2Seq, masked_loss

def losses():
    keras.utils.set_random_seed(1)
    model = Seq2Seq(Config(embedding_dim=16, units=32, layers=1, dropout=0.0), 60, 60)
    model.build_weights()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=masked_loss(0.0))
    rng = np.random.default_rng(0)
    batch = [rng.integers(4, 60, size=(8, 16)).astype("int32") for _ in range(3)]
    found = [float(model.train_on_batch((batch[0], batch[1]), batch[2])) for _ in range(3)]
    return found, [list(w.shape) for w in model.weights]

alone, alone_shapes = losses()
replicas = distribute_over_devices()
shared, shared_shapes = losses()
examples = [([5] * n + [2], [6] * n) for n in range(1, 30)]
rows = sorted({len(indices) for _, indices in Batches(examples, 64, 0, False, replicas=replicas).batches})
config = Config()
print(json.dumps({"replicas": replicas, "alone": alone, "shared": shared, "same_weights": alone_shapes == shared_shapes,
                  "rows": [Batches(examples, 64, 0, False, replicas=replicas).rows[k] for k in (8, 16, 24, 32)],
                  "lr": next_learning_rate(config, {"history": []}, replicas) / config.learning_rate}))
"""


def test_two_devices_give_the_loss_of_one_on_the_same_global_batch():
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    }
    done = subprocess.run(
        [sys.executable, "-c", TWO_DEVICES], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["replicas"] == 2 and found["same_weights"]
    assert all(abs(a - b) < 1e-5 * abs(a) for a, b in zip(found["alone"], found["shared"], strict=True))
    assert found["alone"][2] < found["alone"][0], "it trains"
    assert all(rows % 2 == 0 for rows in found["rows"]), "every batch splits evenly between the devices"
    assert abs(found["lr"] - 2**0.5) < 1e-9

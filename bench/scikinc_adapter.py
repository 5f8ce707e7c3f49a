"""Functional Keras model -> Sequential model that scikinC 0.2.9 can transpile.

Why this file exists
--------------------
scikinC only converts `keras.Sequential` models (its converter table has no entry for
`Functional`), while the LHCb tracking networks are functional: residual blocks
`h = h + tanh(W h + b)` (a `Dense` whose output is `Add`ed to its own input) and, for the
GAN generators, a leading `Concatenate([conditions, noise])`.

The LHCb deployment notebook (shared/seed/deployment-notebook.md, `deploy_utils.LamarrModel`
and `hacks.scikinC_DenseWithSkipConnection`, not published) solves this by:
  1. a custom Keras layer `DenseWithSkipConnection`: h_{i+1} = h_i + act(A h_i + b);
  2. rebuilding each network as a Sequential stack of Dense / DenseWithSkipConnection
     (the Concatenate disappears: the Sequential model takes the 140/143-wide concatenated
     row, which the hand-written `gan_pipelines.c` glue assembles);
  3. registering a scikinC layer converter for `DenseWithSkipConnection` that reuses
     scikinC's own `Dense` C code as much as possible.
This module reproduces those three steps. `deploy_utils.py` itself is not available, so the
converter is our reimplementation: it is scikinC's `Dense` converter with one extra
statement appended to the per-output activation line, `ret[i] += input[i];` (the skip).
That keeps the generated C byte-for-byte what scikinC emits for a Dense layer plus one
add per output, which is what "reusing the C code for converting Dense layers" means in
the notebook.

scikinC-0.2.9 quirks worked around here (minimal, recorded in bench/README.md):
  * none needed for the layers themselves; the Softmax layer of `efficiency` is a plain
    scikinC `Softmax` layer.
"""

import numpy as np
import keras
from keras import layers

import scikinC
import scikinC.layers
from scikinC.layers.Dense import Dense as _ScikincDense


@keras.saving.register_keras_serializable(package="lamarrc_bench")
class DenseWithSkipConnection(layers.Dense):
    """h_{i+1} = h_i + activation(h_i @ kernel + bias); requires units == input width."""

    def call(self, inputs):
        return inputs + super().call(inputs)


class ScikincDenseWithSkipConnection(_ScikincDense):
    """scikinC converter for DenseWithSkipConnection: scikinC's Dense C code + `ret[i] += input[i]`.

    scikinC's Dense definition writes, for each output i:
        ret[i] = bias[i]; for j: ret[i] += input[j]*row[j];  <activate('ret[i]')>
    and `input` is the layer input buffer (never aliased with `ret`: the Sequential
    converter ping-pongs two buffers), so appending the skip to the activation statement
    is exact.
    """

    def activate(self, x):
        return super().activate(x) + " %s += input[i]; /* skip connection */" % x


def register_scikinc_layer():
    # Same hack as the notebook: `scikinC.layers.DenseWithSkipConnection = ...`
    scikinC.layers.DenseWithSkipConnection = ScikincDenseWithSkipConnection


def _inbound_layers(layer):
    """Names of the layers feeding `layer` (Keras 3 functional graph)."""
    names = []
    for node in layer._inbound_nodes:
        for t in node.input_tensors:
            names.append(t._keras_history.operation.name)
    return names


def collapse_to_sequential(model):
    """Rebuild a functional residual tower as a Sequential model (weights copied).

    Supported graph: [Input(s) -> Concatenate] -> Dense -> (Dense + Add)* -> Dense [-> Softmax].
    Each `Add([h, Dense(h)])` becomes one DenseWithSkipConnection. Anything else raises.
    """
    inputs = model.inputs
    n_in = int(sum(int(t.shape[-1]) for t in inputs))
    seq = [keras.Input((n_in,))]
    weights = []
    by_name = {l.name: l for l in model.layers}
    consumed = set()
    for layer in model.layers:
        cls = layer.__class__.__name__
        if cls in ("InputLayer",):
            continue
        if cls == "Concatenate":
            # Only the leading [conditions, noise] concatenation of the model inputs.
            if set(_inbound_layers(layer)) != {t._keras_history.operation.name for t in inputs}:
                raise NotImplementedError("Concatenate not on the model inputs: %s" % layer.name)
            continue
        if cls == "Add":
            srcs = _inbound_layers(layer)
            # Add([h, Dense(h)]): the Dense branch is the one whose only input is the other operand.
            cand = [s for s in srcs if s in by_name and by_name[s].__class__.__name__ == "Dense"
                    and s not in consumed and len(srcs) == 2
                    and _inbound_layers(by_name[s]) == [x for x in srcs if x != s]]
            if len(cand) != 1 or seq[-1].name != "seq_" + cand[0]:
                raise NotImplementedError("Add %s is not a Dense skip connection" % layer.name)
            d = by_name[cand[0]]
            # replace the plain Dense just appended by a DenseWithSkipConnection
            seq[-1] = DenseWithSkipConnection(d.units, activation=d.activation, name="skip_" + d.name)
            consumed.add(d.name)
            continue
        if cls == "Dense":
            seq.append(layers.Dense(layer.units, activation=layer.activation, name="seq_" + layer.name))
            weights.append((layer.name, layer.get_weights()))
            continue
        if cls == "Softmax":
            seq.append(layers.Softmax(name="seq_" + layer.name))
            continue
        raise NotImplementedError("layer %s (%s) not supported by the collapse" % (layer.name, cls))

    out = keras.Sequential(seq, name=model.name + "_collapsed")
    wi = iter(weights)
    for l in out.layers:
        if isinstance(l, layers.Dense):
            _, w = next(wi)
            l.set_weights(w)
    if out.count_params() != model.count_params():
        raise RuntimeError("weight count mismatch: %d vs %d" % (out.count_params(), model.count_params()))
    return out

"""Models: the built-in actor-critics' layer plan (``plan.py``), their Keras builders and user
builders (``builders.py``), and the two forward passes workers act with (``numpy_forward.py``,
``keras_forward.py``).

Every actor-critic maps a batch of observations to ``[logits [N, A], value [N, 1]]``. Users plug
in their own with ``model.name: package.module:function``, called as ``function(spec, config)``.

This package file imports nothing, so that ``plan`` and ``numpy_forward`` stay free of
TensorFlow: import ``distrl.models.builders`` for ``build_model``.
"""
